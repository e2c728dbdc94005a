package dotenv_test

import (
	"strings"
	"testing"

	"github.com/gemgate/gemini-gateway/gateway/accounts"
	"github.com/gemgate/gemini-gateway/internal/dotenv"
)

// TestImporterAndFileAgree pastes into the importer the forms app.ReadDotEnv
// and the importer used to read differently ("\"" escapes, export/set/
// $env: prefixes, comments) and checks that both give the same values.
func TestImporterAndFileAgree(t *testing.T) {
	const (
		ses  = "CSE.ZAdUe9Pgl1_ETxQb4arTvbIWMiZaodaa"
		name = `work \"main\"`
		cos  = "COS.xyz"
		idx  = "1234567"
		cid  = "52facdb6-08a2-4e02-94d3-61720bda33ea"
	)
	for _, text := range []string{
		"export NAME=\"" + name + "\"\nexport SECURE_C_SES=\"" + ses + "\"\nexport HOST_C_OSES='" + cos + "'\nexport CSESIDX=" + idx + "\nexport CONFIG_ID=" + cid + "\n",
		"set NAME=\"" + name + "\"\nset SECURE_C_SES=\"" + ses + "\"\nset HOST_C_OSES=" + cos + " # cookie\nset CSESIDX=" + idx + "\nset CONFIG_ID=" + cid + "\n",
		"$env:NAME = \"" + name + "\"\n$env:SECURE_C_SES = \"" + ses + "\"\n$env:HOST_C_OSES = \"" + cos + "\"\n$env:CSESIDX = \"" + idx + "\"\n$env:CONFIG_ID = \"" + cid + "\"\n",
	} {
		file, err := dotenv.Parse(strings.NewReader(text), ".env")
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		got, problems := accounts.ParseImport(text)
		if len(got) != 1 {
			t.Fatalf("%q: %d accounts, problems %v", text, len(got), problems)
		}
		in := got[0]
		if file["NAME"] != `work "main"` || in.Name != file["NAME"] || in.SecureCSES != file["SECURE_C_SES"] ||
			in.HostCOSES != file["HOST_C_OSES"] || in.CSESIDX != file["CSESIDX"] || in.ConfigID != file["CONFIG_ID"] {
			t.Errorf("%q:\nfile     %q\nimporter %+v", text, file, in)
		}
	}
}
