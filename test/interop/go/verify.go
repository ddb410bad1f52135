// Command verify checks evident's output with an independent implementation: Go's
// golang.org/x/mod/sumdb/note (C2SP signed notes, Ed25519) and golang.org/x/mod/sumdb/tlog
// (RFC 6962 trees: leaf SHA-256(0x00||data), node SHA-256(0x01||l||r)).
//
// It reads one JSON document on stdin:
//
//	{"vkey": "<name>+<key id>+<base64>",
//	 "checkpoints": ["<signed note>", ...],
//	 "inclusion":   [{"index": I, "size": N, "leaf": "<base64 leaf bytes>", "hashes": ["<base64>", ...]}, ...],
//	 "consistency": [{"from": M, "to": N, "hashes": ["<base64>", ...]}, ...]}
//
// Every checkpoint must open under vkey (note.Open) and hold a C2SP tlog-checkpoint body (origin,
// decimal size, base64 root). Every proof is checked against the root of the verified checkpoint
// of its size, never against anything the proof carries: inclusion with tlog.CheckRecord,
// consistency with tlog.CheckTree. An inclusion proof may give "leaf_hash" (base64) instead of
// "leaf"; hashes may be base64 (44 characters) or hex (64 characters).
//
// It prints {"ok": bool, "checked": {...}, "checkpoints": [...], "errors": [...]} on stdout and
// exits 0 only if there was something to check and all of it verified; 1 if anything failed;
// 2 if the input could not be read.
//
// Build (GOPATH mode, offline, with Debian's golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=/tmp/gocache CGO_ENABLED=0 go build -o verify verify.go
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusionProof struct {
	Index    *int64   `json:"index"`
	Size     *int64   `json:"size"`
	Leaf     *string  `json:"leaf"`
	LeafHash *string  `json:"leaf_hash"`
	Hashes   []string `json:"hashes"`
}

type consistencyProof struct {
	From   *int64   `json:"from"`
	To     *int64   `json:"to"`
	Hashes []string `json:"hashes"`
}

type input struct {
	Vkey        string             `json:"vkey"`
	Checkpoints []string           `json:"checkpoints"`
	Inclusion   []inclusionProof   `json:"inclusion"`
	Consistency []consistencyProof `json:"consistency"`
}

type checked struct {
	Checkpoints int `json:"checkpoints"`
	Inclusion   int `json:"inclusion"`
	Consistency int `json:"consistency"`
}

type openedCheckpoint struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
	// The key names whose signatures verified.
	Signers []string `json:"signers"`
}

type output struct {
	OK          bool               `json:"ok"`
	Checked     checked            `json:"checked"`
	Failed      checked            `json:"failed"`
	Checkpoints []openedCheckpoint `json:"checkpoints"`
	Errors      []string           `json:"errors"`
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

func run(stdin io.Reader, stdout io.Writer) int {
	out := output{Checkpoints: []openedCheckpoint{}, Errors: []string{}}
	emit := func(code int) int {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			return 2
		}
		return code
	}

	var in input
	dec := json.NewDecoder(stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		out.Errors = append(out.Errors, "input: "+err.Error())
		return emit(2)
	}

	verifier, err := note.NewVerifier(in.Vkey)
	if err != nil {
		out.Errors = append(out.Errors, fmt.Sprintf("vkey %q: %v", in.Vkey, err))
		return emit(2)
	}
	verifiers := note.VerifierList(verifier)

	fail := func(counter *int, format string, args ...any) {
		*counter++
		out.Errors = append(out.Errors, fmt.Sprintf(format, args...))
	}

	// Roots of the verified checkpoints, by tree size.
	roots := map[int64]tlog.Hash{}
	for i, msg := range in.Checkpoints {
		n, err := note.Open([]byte(msg), verifiers)
		if err != nil {
			fail(&out.Failed.Checkpoints, "checkpoint %d: note.Open: %v", i, err)
			continue
		}
		origin, size, root, err := parseCheckpoint(n.Text)
		if err != nil {
			fail(&out.Failed.Checkpoints, "checkpoint %d: %v", i, err)
			continue
		}
		if prev, ok := roots[size]; ok && prev != root {
			fail(&out.Failed.Checkpoints, "checkpoint %d: two verified checkpoints of size %d with different roots (%v, %v)", i, size, prev, root)
			continue
		}
		roots[size] = root
		signers := []string{}
		for _, s := range n.Sigs {
			signers = append(signers, s.Name)
		}
		out.Checkpoints = append(out.Checkpoints, openedCheckpoint{Origin: origin, Size: size, Root: root.String(), Signers: signers})
		out.Checked.Checkpoints++
	}

	for i, p := range in.Inclusion {
		if p.Index == nil || p.Size == nil {
			fail(&out.Failed.Inclusion, "inclusion %d: index and size are required", i)
			continue
		}
		where := fmt.Sprintf("inclusion %d (index %d, size %d)", i, *p.Index, *p.Size)
		root, ok := roots[*p.Size]
		if !ok {
			fail(&out.Failed.Inclusion, "%s: no verified checkpoint of size %d", where, *p.Size)
			continue
		}
		var leafHash tlog.Hash
		switch {
		case p.Leaf != nil && p.LeafHash == nil:
			data, err := base64.StdEncoding.Strict().DecodeString(*p.Leaf)
			if err != nil {
				fail(&out.Failed.Inclusion, "%s: leaf: %v", where, err)
				continue
			}
			leafHash = tlog.RecordHash(data)
		case p.LeafHash != nil && p.Leaf == nil:
			h, err := decodeHash(*p.LeafHash)
			if err != nil {
				fail(&out.Failed.Inclusion, "%s: leaf_hash: %v", where, err)
				continue
			}
			leafHash = h
		default:
			fail(&out.Failed.Inclusion, "%s: exactly one of leaf and leaf_hash is required", where)
			continue
		}
		proof, err := decodeHashes(p.Hashes)
		if err != nil {
			fail(&out.Failed.Inclusion, "%s: %v", where, err)
			continue
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), *p.Size, root, *p.Index, leafHash); err != nil {
			fail(&out.Failed.Inclusion, "%s: tlog.CheckRecord: %v", where, err)
			continue
		}
		out.Checked.Inclusion++
	}

	for i, p := range in.Consistency {
		if p.From == nil || p.To == nil {
			fail(&out.Failed.Consistency, "consistency %d: from and to are required", i)
			continue
		}
		where := fmt.Sprintf("consistency %d (from %d to %d)", i, *p.From, *p.To)
		rootFrom, ok := roots[*p.From]
		if !ok {
			fail(&out.Failed.Consistency, "%s: no verified checkpoint of size %d", where, *p.From)
			continue
		}
		rootTo, ok := roots[*p.To]
		if !ok {
			fail(&out.Failed.Consistency, "%s: no verified checkpoint of size %d", where, *p.To)
			continue
		}
		proof, err := decodeHashes(p.Hashes)
		if err != nil {
			fail(&out.Failed.Consistency, "%s: %v", where, err)
			continue
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), *p.To, rootTo, *p.From, rootFrom); err != nil {
			fail(&out.Failed.Consistency, "%s: tlog.CheckTree: %v", where, err)
			continue
		}
		out.Checked.Consistency++
	}

	total := out.Checked.Checkpoints + out.Checked.Inclusion + out.Checked.Consistency
	if total == 0 && len(out.Errors) == 0 {
		out.Errors = append(out.Errors, "nothing to check")
	}
	out.OK = len(out.Errors) == 0
	if out.OK {
		return emit(0)
	}
	return emit(1)
}

// parseCheckpoint reads a C2SP tlog-checkpoint body: origin, decimal size (no sign, no leading
// zero), standard padded base64 of a 32-byte root, then optional non-empty extension lines.
func parseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	if !strings.HasSuffix(text, "\n") {
		return "", 0, root, fmt.Errorf("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", 0, root, fmt.Errorf("checkpoint has %d lines, want at least 3", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return "", 0, root, fmt.Errorf("checkpoint line %d is empty", i+1)
		}
	}
	origin = lines[0]
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, fmt.Errorf("checkpoint size %q is not a canonical decimal", lines[1])
	}
	b, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != lines[2] {
		return "", 0, root, fmt.Errorf("checkpoint root %q is not canonical base64 of %d bytes", lines[2], tlog.HashSize)
	}
	copy(root[:], b)
	return origin, size, root, nil
}

func decodeHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	var b []byte
	var err error
	if len(s) == 2*tlog.HashSize {
		b, err = hex.DecodeString(s)
	} else {
		b, err = base64.StdEncoding.Strict().DecodeString(s)
	}
	if err != nil {
		return h, fmt.Errorf("hash %q: %v", s, err)
	}
	if len(b) != tlog.HashSize {
		return h, fmt.Errorf("hash %q is %d bytes, want %d", s, len(b), tlog.HashSize)
	}
	copy(h[:], b)
	return h, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	hs := make([]tlog.Hash, 0, len(list))
	for j, s := range list {
		h, err := decodeHash(s)
		if err != nil {
			return nil, fmt.Errorf("hashes[%d]: %v", j, err)
		}
		hs = append(hs, h)
	}
	return hs, nil
}
