package fakeupstream

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// makePNG draws a small, valid picture (a sky gradient with a sun) so that
// a client decoding the "generated" image gets a real PNG of the size the
// status text announces.
func makePNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w*2/3, h/3, min(w, h)/6
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: uint8(40 + 120*y/h), G: uint8(90 + 100*y/h), B: 230, A: 255}
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= r*r {
				c = color.NRGBA{R: 255, G: 200, B: 40, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		// Encoding an in-memory NRGBA image cannot fail.
		panic(err)
	}
	return buf.Bytes()
}
