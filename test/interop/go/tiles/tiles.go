// Command tiles reads an evident log served as C2SP tlog-tiles with an independent
// implementation, Go's golang.org/x/mod/sumdb/tlog and note, and checks it.
//
// Usage: tiles -url PREFIX -vkey VKEY -key APIKEY [-old SIZE:ROOT ...] [-paths FILE] [-bundles]
//
//   - fetches PREFIX/checkpoint, opens it under VKEY (note.Open) and reads the C2SP
//     tlog-checkpoint body (origin, size, base64 root);
//   - reads hash tiles through tlog.TileHashReader, which checks every tile it reads against
//     that root; Go names tiles tile/8/L/N[.p/W], tlog-tiles drops the height: tile/L/N[.p/W];
//   - proves and checks inclusion (tlog.ProveRecord, tlog.CheckRecord) of leaves around tile
//     boundaries, their record hashes read from the level-0 tiles;
//   - proves and checks consistency (tlog.ProveTree, tlog.CheckTree) from each -old SIZE:ROOT;
//   - with -paths, parses each tlog-tiles path in FILE (one a line) with tlog.ParseTilePath,
//     mapped to Go's form (entries -> data), and requires the same path back;
//   - with -bundles, reads the entry bundles of the first and last level-0 tiles and checks
//     that each entry's record hash (SHA-256(0x00||entry)) is the tree's leaf hash.
//
// Prints one JSON object; exits 0 if everything verified, 1 otherwise.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

var (
	prefix  = flag.String("url", "", "tlog-tiles prefix")
	vkey    = flag.String("vkey", "", "note verifier key")
	apiKey  = flag.String("key", "", "API key")
	paths   = flag.String("paths", "", "file of tlog-tiles paths to parse")
	bundles = flag.Bool("bundles", false, "check entry bundles")
	olds    multi
	fetched []string
)

func fail(format string, a ...interface{}) {
	out, _ := json.Marshal(map[string]interface{}{"ok": false, "error": fmt.Sprintf(format, a...), "fetched": fetched})
	fmt.Println(string(out))
	os.Exit(1)
}

func get(path string) []byte {
	req, err := http.NewRequest("GET", *prefix+"/"+path, nil)
	if err != nil {
		fail("%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+*apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		fail("GET %s: status %d: %s", path, resp.StatusCode, body)
	}
	fetched = append(fetched, path)
	return body
}

// toEvident maps Go's tile path (tile/8/L/N, tile/8/data/N) to tlog-tiles' (tile/L/N, tile/entries/N).
func toEvident(goPath string) string {
	p := strings.Replace(goPath, "tile/8/", "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

// toGo maps a tlog-tiles path to Go's form.
func toGo(path string) string {
	p := strings.Replace(path, "tile/entries/", "tile/data/", 1)
	return strings.Replace(p, "tile/", "tile/8/", 1)
}

type reader struct{}

func (reader) Height() int { return 8 }
func (reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if _, err := tlog.ParseTilePath(t.Path()); err != nil {
			return nil, err
		}
		out[i] = get(toEvident(t.Path()))
	}
	return out, nil
}
func (reader) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	flag.Var(&olds, "old", "SIZE:BASE64ROOT of an earlier checkpoint")
	flag.Parse()
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	n, err := note.Open(get("checkpoint"), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint body too short")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		fail("checkpoint root: %v", err)
	}
	var th tlog.Hash
	copy(th[:], root)
	tree := tlog.Tree{N: size, Hash: th}
	hr := tlog.TileHashReader(tree, reader{})

	// Inclusion, around tile boundaries, with the record hash read from the level-0 tiles.
	checked := 0
	seen := map[int64]bool{}
	for _, i := range []int64{0, 1, 254, 255, 256, 257, 65534, 65535, 65536, 65537, size / 2, size - 2, size - 1} {
		if i < 0 || i >= size || seen[i] {
			continue
		}
		seen[i] = true
		leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil {
			fail("leaf %d: %v", i, err)
		}
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			fail("ProveRecord(%d, %d): %v", size, i, err)
		}
		if err := tlog.CheckRecord(p, size, th, i, leaf[0]); err != nil {
			fail("CheckRecord(%d, %d): %v", size, i, err)
		}
		checked++
	}

	// Consistency from every earlier checkpoint.
	consistent := 0
	for _, o := range olds {
		parts := strings.SplitN(o, ":", 2)
		m, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || len(parts) != 2 {
			fail("-old %q", o)
		}
		r, err := base64.StdEncoding.DecodeString(parts[1])
		if err != nil || len(r) != 32 {
			fail("-old %q root", o)
		}
		var oh tlog.Hash
		copy(oh[:], r)
		p, err := tlog.ProveTree(size, m, hr)
		if err != nil {
			fail("ProveTree(%d, %d): %v", size, m, err)
		}
		if err := tlog.CheckTree(p, size, th, m, oh); err != nil {
			fail("CheckTree(%d, %d): %v", size, m, err)
		}
		consistent++
	}

	// Every path evident writes or serves, through Go's parser and back.
	parsed := 0
	if *paths != "" {
		f, err := os.Open(*paths)
		if err != nil {
			fail("%v", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			p := sc.Text()
			if p == "" || p == "checkpoint" || strings.HasPrefix(p, "entries-u32/") {
				continue
			}
			t, err := tlog.ParseTilePath(toGo(p))
			if err != nil {
				fail("ParseTilePath(%q): %v", toGo(p), err)
			}
			if t.H != 8 || toEvident(t.Path()) != p {
				fail("ParseTilePath(%q) gave %+v, path %q", toGo(p), t, t.Path())
			}
			parsed++
		}
		f.Close()
	}

	// Entry bundles: each entry's record hash is the leaf hash in the tree.
	entries := 0
	if *bundles {
		last := (size - 1) / 256
		for _, b := range []int64{0, last} {
			w := size - b*256
			if w > 256 {
				w = 256
			}
			t := tlog.Tile{H: 8, L: -1, N: b, W: int(w)}
			data := get(toEvident(t.Path()))
			for k := int64(0); k < w; k++ {
				if len(data) < 2 {
					fail("bundle %d ends early at entry %d", b, k)
				}
				l := int(binary.BigEndian.Uint16(data))
				if len(data) < 2+l {
					fail("bundle %d: entry %d runs past the end", b, k)
				}
				want, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, b*256+k)})
				if err != nil {
					fail("leaf %d: %v", b*256+k, err)
				}
				if tlog.RecordHash(data[2:2+l]) != want[0] {
					fail("entry %d does not hash to its leaf", b*256+k)
				}
				data = data[2+l:]
				entries++
			}
			if len(data) != 0 {
				fail("bundle %d has %d bytes after its entries", b, len(data))
			}
		}
	}

	out, _ := json.Marshal(map[string]interface{}{
		"ok": true, "size": size, "origin": lines[0], "inclusion": checked, "consistency": consistent,
		"paths": parsed, "entries": entries, "tiles_fetched": len(fetched),
	})
	fmt.Println(string(out))
}
