package keystore

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// How a value is laid out in the keychain.
//
// A value that fits in one entry is stored as is under "account/<ref>".
// A larger one is cut into parts stored under "account/<ref>#1" …
// "account/<ref>#<n>", and "account/<ref>" holds a header
// "chunks:v1:<n>:<sum>", where <sum> is the first 16 bytes of the SHA-256
// of the whole value in hex. Values are JSON objects, so a header can never
// be mistaken for a value. The sum is not a defence against an attacker
// (who could read the secrets anyway) but against reassembling parts of two
// different writes, or a part lost by a crash, into garbage.
const (
	headerPrefix = "chunks:v1:"
	sumBytes     = 16
	// maxParts bounds reassembly and the search for stale parts. Real
	// secrets (two cookies of at most 8 KiB each) need about 9 parts of
	// 2000 bytes.
	maxParts = 512
)

func headUser(ref string) string { return "account/" + ref }

func partUser(ref string, i int) string { return "account/" + ref + "#" + strconv.Itoa(i) }

// splitValue cuts v into parts of at most size bytes. Cuts never fall
// inside a UTF-8 sequence, so each part is valid text for keychains that
// expect strings (JSON output is valid UTF-8; cookies are ASCII anyway).
func splitValue(v string, size int) []string {
	if size < utf8.UTFMax {
		size = utf8.UTFMax // a smaller size could not hold a whole rune
	}
	var parts []string
	for len(v) > size {
		end := size
		for end > 0 && !utf8.RuneStart(v[end]) {
			end--
		}
		parts = append(parts, v[:end])
		v = v[end:]
	}
	return append(parts, v)
}

func valueSum(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:sumBytes])
}

func makeHeader(v string, n int) string {
	return headerPrefix + strconv.Itoa(n) + ":" + valueSum(v)
}

// parseHeader reports whether head is a chunk header and, if so, its part
// count and sum. A value that starts like a header but does not parse is an
// error rather than a plain value: treating it as JSON would only fail later
// with a less useful message.
func parseHeader(head string) (n int, sum string, chunked bool, err error) {
	rest, ok := strings.CutPrefix(head, headerPrefix)
	if !ok {
		if strings.HasPrefix(head, "chunks:") {
			return 0, "", true, fmt.Errorf("unknown chunk header version: %w", ErrCorrupt)
		}
		return 0, "", false, nil
	}
	count, sum, ok := strings.Cut(rest, ":")
	n, convErr := strconv.Atoi(count)
	if !ok || convErr != nil || n < 2 || n > maxParts || len(sum) != 2*sumBytes {
		return 0, "", true, fmt.Errorf("malformed chunk header: %w", ErrCorrupt)
	}
	return n, sum, true, nil
}

// sumMatches compares in constant time; timing hardly matters here, but it
// costs nothing.
func sumMatches(v, sum string) bool {
	return subtle.ConstantTimeCompare([]byte(valueSum(v)), []byte(sum)) == 1
}
