// Checks a C2SP tlog-cosignature (cosignature/v1, Ed25519) with Go's standard library only,
// independently of evident's TypeScript: reads {"vkey": ..., "note": ...} on stdin, finds the
// cosignature line of that key on the note, and prints {"ok", "timestamp", "error"}.
//
//   vkey      = <name>+<8 hex key ID>+<base64(0x04 || 32-byte public key)>
//   key ID    = SHA-256(name || 0x0A || 0x04 || public key)[:4]
//   signature = key ID || 8-byte big-endian timestamp || Ed25519(
//               "cosignature/v1\ntime <timestamp>\n" || checkpoint text)
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

type input struct {
	Vkey string `json:"vkey"`
	Note string `json:"note"`
}

type output struct {
	Ok        bool   `json:"ok"`
	Timestamp uint64 `json:"timestamp"`
	Error     string `json:"error,omitempty"`
}

func check(in input) (uint64, error) {
	parts := strings.SplitN(in.Vkey, "+", 3)
	if len(parts) != 3 {
		return 0, errors.New("vkey: want name+id+key")
	}
	name := parts[0]
	id, err := hex.DecodeString(parts[1])
	if err != nil || len(id) != 4 {
		return 0, errors.New("vkey: bad key ID")
	}
	data, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(data) != 33 || data[0] != 0x04 {
		return 0, errors.New("vkey: not a type 0x04 Ed25519 key")
	}
	pub := ed25519.PublicKey(data[1:])
	h := sha256.Sum256(append([]byte(name+"\n"), data...))
	if !bytes.Equal(h[:4], id) {
		return 0, errors.New("vkey: key ID is not the hash of name and key")
	}
	split := strings.LastIndex(in.Note, "\n\n")
	if split < 0 {
		return 0, errors.New("note: no signature block")
	}
	text := in.Note[:split+1]
	for _, line := range strings.Split(strings.TrimSuffix(in.Note[split+2:], "\n"), "\n") {
		if !strings.HasPrefix(line, "\u2014 "+name+" ") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line[len("\u2014 "+name+" "):])
		if err != nil || len(raw) != 4+8+ed25519.SignatureSize || !bytes.Equal(raw[:4], id) {
			continue
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, text)
		if !ed25519.Verify(pub, []byte(msg), raw[12:]) {
			return ts, errors.New("cosignature does not verify")
		}
		return ts, nil
	}
	return 0, errors.New("no cosignature line by this key")
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ts, err := check(in)
	out := output{Ok: err == nil, Timestamp: ts}
	if err != nil {
		out.Error = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
