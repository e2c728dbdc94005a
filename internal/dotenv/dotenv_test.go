package dotenv

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line, key, value string
		ok               bool
	}{
		{"KEY=value", "KEY", "value", true},
		{"  KEY = value  ", "KEY", "value", true},
		{"export KEY=v", "KEY", "v", true},
		{"EXPORT KEY=v", "KEY", "v", true},
		{"set KEY=v", "KEY", "v", true},
		{`$env:KEY = "v"`, "KEY", "v", true},
		{"KEY=v # comment", "KEY", "v", true},
		{"KEY=v\t# comment", "KEY", "v", true},
		{"KEY=a#b", "KEY", "a#b", true},
		{"KEY=", "KEY", "", true},
		{`KEY="a\nb"`, "KEY", "a\nb", true},
		{`KEY="a\tb\rc"`, "KEY", "a\tb\rc", true},
		{`KEY="say \"hi\" \\ \$HOME \' \` + "`" + `"`, "KEY", `say "hi" \ $HOME ' ` + "`", true},
		{`KEY="a\qb"`, "KEY", `a\qb`, true},
		{`KEY="v" # comment`, "KEY", "v", true},
		{`KEY='a\nb $X'`, "KEY", `a\nb $X`, true},
		{`KEY="p$WORD"`, "KEY", "p$WORD", true},
		{"__Secure-C_SES=CSE.x", "__Secure-C_SES", "CSE.x", true},
		{"a.b-c=1", "a.b-c", "1", true},
		{`KEY="open`, "", "", false},
		{`KEY='open`, "", "", false},
		{"no equals", "", "", false},
		{"1KEY=v", "", "", false},
		{"A B=v", "", "", false},
		{"https://business.gemini.google/home/cid/x?csesidx=1", "", "", false},
		{"=v", "", "", false},
	} {
		k, v, ok := ParseLine(tc.line)
		if k != tc.key || v != tc.value || ok != tc.ok {
			t.Errorf("ParseLine(%q) = %q, %q, %v; want %q, %q, %v", tc.line, k, v, ok, tc.key, tc.value, tc.ok)
		}
	}
}

func TestParse(t *testing.T) {
	text := "# settings\r\n\nexport A=1\nB=\"x\\ny\"\nA=2\n"
	got, err := Parse(strings.NewReader(text), "f.env")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["A"] != "2" || got["B"] != "x\ny" {
		t.Errorf("got %q", got)
	}
}

func TestParseErrorNamesLineNotValue(t *testing.T) {
	const secret = "CSE.do-not-print-me"
	_, err := Parse(strings.NewReader("A=1\nSECURE_C_SES=\""+secret+"\nB=2\n"), "/x/.env")
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || le.Name != "/x/.env" {
		t.Fatalf("err = %v, want a LineError for line 2", err)
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "/x/.env:2") {
		t.Errorf("error %q must name the line and not quote it", err)
	}
}

// FuzzParseLine checks that a line never panics and that whatever is read
// as an assignment has a valid key and reads back the same when written
// double-quoted.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"KEY=v", `export K="a\nb\"c"`, "set K='x'", `$env:K = "v" # c`, `K="open`, "K=v # c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		k, v, ok := ParseLine(line)
		if !ok {
			if k != "" || v != "" {
				t.Fatalf("not ok but returned %q, %q", k, v)
			}
			return
		}
		if !keyRE.MatchString(k) {
			t.Fatalf("key %q", k)
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(v)
		k2, v2, ok2 := ParseLine(k + `="` + q + `"`)
		if !ok2 || k2 != k || v2 != v {
			t.Fatalf("round trip of %q=%q gave %q=%q (%v)", k, v, k2, v2, ok2)
		}
	})
}
