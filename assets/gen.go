//go:build ignore

// gen draws the product's icons: the app icon and the monochrome tray icon
// with a status dot per gateway state. Run with `go generate ./assets`.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

// coverage samples a shape n×n times per pixel for anti-aliasing.
func draw(size int, shade func(x, y float64) (color.NRGBA, float64)) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const n = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < n; sy++ {
				for sx := 0; sx < n; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/n) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/n) / float64(size)
					c, cov := shade(x, y)
					w := cov * float64(c.A) / 255
					r += float64(c.R) * w
					g += float64(c.G) * w
					b += float64(c.B) * w
					a += w
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(math.Min(255, a/(n*n)*255))})
		}
	}
	return img
}

// sparkle is the four-pointed star, centred at (cx,cy) with radius r.
func sparkle(x, y, cx, cy, r float64) bool {
	dx, dy := math.Abs(x-cx)/r, math.Abs(y-cy)/r
	return math.Sqrt(dx)+math.Sqrt(dy) <= 1
}

// roundedSquare is inside a square of side 1-2m with corner radius rad.
func roundedSquare(x, y, m, rad float64) bool {
	qx := math.Max(math.Abs(x-0.5)-(0.5-m-rad), 0)
	qy := math.Max(math.Abs(y-0.5)-(0.5-m-rad), 0)
	return qx*qx+qy*qy <= rad*rad
}

func lerp(a, b uint8, t float64) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*t) }

func appIcon(x, y float64) (color.NRGBA, float64) {
	if !roundedSquare(x, y, 0.04, 0.2) {
		return color.NRGBA{}, 0
	}
	// Diagonal gradient from Gemini blue to violet.
	t := (x + y) / 2
	bg := color.NRGBA{lerp(0x1a, 0x8e, t), lerp(0x73, 0x4c, t), lerp(0xe8, 0xd9, t), 255}
	white := color.NRGBA{255, 255, 255, 255}
	if sparkle(x, y, 0.5, 0.44, 0.3) {
		return white, 1
	}
	// The gateway: a bar the sparkle sits on, with a port at each end.
	if y > 0.78 && y < 0.82 && x > 0.24 && x < 0.76 {
		return white, 1
	}
	for _, cx := range []float64{0.24, 0.76} {
		if d := math.Hypot(x-cx, y-0.8); d < 0.05 {
			return white, 1
		}
	}
	return bg, 1
}

func trayIcon(dot color.NRGBA) func(x, y float64) (color.NRGBA, float64) {
	return func(x, y float64) (color.NRGBA, float64) {
		if dot.A > 0 {
			d := math.Hypot(x-0.78, y-0.78)
			if d < 0.2 {
				return dot, 1
			}
			if d < 0.27 {
				return color.NRGBA{}, 0 // a gap so the dot reads on any panel
			}
		}
		if sparkle(x, y, 0.46, 0.46, 0.44) {
			return color.NRGBA{255, 255, 255, 255}, 1
		}
		return color.NRGBA{}, 0
	}
}

func save(name string, img image.Image) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
}

func main() {
	save("icon.png", draw(512, appIcon))
	save("tray.png", draw(64, trayIcon(color.NRGBA{})))
	save("tray-serving.png", draw(64, trayIcon(color.NRGBA{0x34, 0xa8, 0x53, 255})))
	save("tray-degraded.png", draw(64, trayIcon(color.NRGBA{0xfb, 0xbc, 0x04, 255})))
	save("tray-stopped.png", draw(64, trayIcon(color.NRGBA{0x9a, 0xa0, 0xa6, 255})))
	save("tray-down.png", draw(64, trayIcon(color.NRGBA{0xea, 0x43, 0x35, 255})))
}
