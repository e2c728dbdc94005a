package openai

import (
	"unicode"
	"unicode/utf8"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// EstimateTokens approximates how many tokens a text costs. The upstream
// reports no usage, so this is the one place the gateway's usage figures
// come from. Weights follow common BPE tokenizers:
//   - each CJK ideograph, kana or hangul syllable: 1 token;
//   - a run of letters (a Latin, Cyrillic… word): 1 token per 6 letters, at least 1;
//   - a run of digits: 1 token per 3 digits, at least 1;
//   - any other visible character (punctuation, emoji): 1 token;
//   - whitespace: free.
//
// Non-empty text is at least 1 token.
func EstimateTokens(s string) int {
	tokens, letters, digits := 0, 0, 0
	endRun := func() {
		if letters > 0 {
			tokens += (letters + 5) / 6
			letters = 0
		}
		if digits > 0 {
			tokens += (digits + 2) / 3
			digits = 0
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		var r rune = rune(c)
		size := 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && (c|0x20 >= 'a' && c|0x20 <= 'z'):
			if digits > 0 {
				endRun()
			}
			letters++
		case r >= '0' && r <= '9':
			if letters > 0 {
				endRun()
			}
			digits++
		case r == ' ' || r == '\n' || r == '\t' || r == '\r':
			endRun()
		case r < utf8.RuneSelf:
			endRun()
			tokens++
		case isCJK(r):
			endRun()
			tokens++
		case unicode.IsLetter(r) || unicode.IsMark(r):
			letters++
		case unicode.IsSpace(r):
			endRun()
		case r == '\u200d' || unicode.Is(unicode.Variation_Selector, r):
			// Joiners and selectors ride along with the emoji before them.
		default:
			endRun()
			tokens++
		}
	}
	endRun()
	if tokens == 0 && len(s) > 0 {
		return 1
	}
	return tokens
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// Per-message and per-image overheads of the chat format.
const (
	messageOverhead = 4
	imageTokens     = 258 // what the upstream reports per uploaded image
)

// PromptTokens estimates the prompt side of a request's usage.
func PromptTokens(msgs []chat.Message) int {
	n := 3
	for _, m := range msgs {
		n += messageOverhead + EstimateTokens(m.Text) + imageTokens*len(m.Images)
		for _, c := range m.ToolCalls {
			n += EstimateTokens(c.Name) + EstimateTokens(c.Arguments)
		}
	}
	return n
}
