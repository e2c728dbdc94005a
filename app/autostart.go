package app

import "github.com/gemgate/gemini-gateway/internal/autostart"

// startAtLogin is what the Start at login setting turns on and off.
var startAtLogin = autostart.App{ID: AppID, Name: "Gemini Gateway",
	Comment: "OpenAI-compatible API for Gemini Business on 127.0.0.1:7860"}

// SetStartAtLogin makes the desktop start this executable at login, or not.
func SetStartAtLogin(on bool) error { return startAtLogin.Set(on) }

// StartsAtLogin reports whether it is set to.
func StartsAtLogin() bool { return startAtLogin.Enabled() }
