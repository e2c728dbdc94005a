// Command gemini-gateway is a desktop gateway that lets any OpenAI client
// use Google's Gemini Business: a tray app (or, with -headless, a server)
// that serves an OpenAI-compatible API on 127.0.0.1:7860.
package main

import (
	"os"

	"github.com/gemgate/gemini-gateway/app"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
