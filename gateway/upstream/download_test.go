package upstream

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestDecodeMaybeBase64EveryType(t *testing.T) {
	var pngB, jpgB bytes.Buffer
	png.Encode(&pngB, image.NewRGBA(image.Rect(0, 0, 3, 3)))
	jpeg.Encode(&jpgB, image.NewRGBA(image.Rect(0, 0, 3, 3)), nil)
	webp := append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 24)...)
	mp4 := []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08mdat")
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	for name, raw := range map[string][]byte{"png": pngB.Bytes(), "jpeg": jpgB.Bytes(), "webp": webp, "mp4": mp4, "gif": gif, "pdf": pdf} {
		t.Run(name, func(t *testing.T) {
			if got := DecodeMaybeBase64(raw); !bytes.Equal(got, raw) {
				t.Error("raw bytes were changed")
			}
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
				text := enc.EncodeToString(raw)
				if got := DecodeMaybeBase64([]byte(text + "\n")); !bytes.Equal(got, raw) {
					t.Errorf("base64 body not decoded (%d bytes back)", len(got))
				}
			}
		})
	}
	// Text that happens to be base64 and decodes to text stays text.
	for _, s := range []string{"SGVsbG8gd29ybGQh", "abcdefgh", "plain text with spaces"} {
		if got := DecodeMaybeBase64([]byte(s)); string(got) != s {
			t.Errorf("%q became %q", s, got)
		}
	}
}

func FuzzDecodeMaybeBase64(f *testing.F) {
	f.Add([]byte("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="))
	f.Add([]byte("AAAAGGZ0eXBpc29tAAACAGlzb21pc28yAAAACG1kYXQ="))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := DecodeMaybeBase64(b)
		if bytes.Equal(got, b) {
			return
		}
		// Decoded: the input was base64 text of exactly these bytes.
		if !isBase64Text(bytes.TrimSpace(b)) {
			t.Fatalf("decoded a body that is not base64 text: %q", b)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(string(stripNewlines(bytes.TrimSpace(b)))); err == nil && bytes.Equal(d, got) {
				return
			}
		}
		t.Fatalf("%q decoded to bytes no encoding gives", b)
	})
}
