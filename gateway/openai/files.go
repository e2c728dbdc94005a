package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// FileTypes maps the file extensions the gateway forwards to Gemini
// Business to their MIME types: documents, data, audio and video the
// service takes as context (images go through image_url).
var FileTypes = map[string]string{
	".pdf":  "application/pdf",
	".txt":  "text/plain",
	".md":   "text/markdown",
	".csv":  "text/csv",
	".json": "application/json",
	".html": "text/html",
	".xml":  "application/xml",
	".doc":  "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":  "application/vnd.ms-excel",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":  "application/vnd.ms-powerpoint",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".mp3":  "audio/mpeg",
	".wav":  "audio/wav",
	".ogg":  "audio/ogg",
	".flac": "audio/flac",
	".aac":  "audio/aac",
	".m4a":  "audio/mp4",
	".mp4":  "video/mp4",
	".webm": "video/webm",
	".mov":  "video/quicktime",
	".mpeg": "video/mpeg",
}

// mimeAliases are other names clients give the accepted types.
var mimeAliases = map[string]string{
	"text/x-markdown": "text/markdown", "audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav",
	"audio/wave": "audio/wav", "audio/x-m4a": "audio/mp4", "text/xml": "application/xml",
	"audio/x-flac": "audio/flac",
}

// acceptedFileMIME normalises m and reports whether it is forwarded.
func acceptedFileMIME(m string) (string, bool) {
	m = strings.ToLower(strings.TrimSpace(m))
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = strings.TrimSpace(m[:i])
	}
	if a, ok := mimeAliases[m]; ok {
		m = a
	}
	for _, v := range FileTypes {
		if v == m {
			return m, true
		}
	}
	return m, false
}

// FileTypeList names the accepted extensions, for error messages.
func FileTypeList() string {
	exts := make([]string, 0, len(FileTypes))
	for e := range FileTypes {
		exts = append(exts, strings.TrimPrefix(e, "."))
	}
	sort.Strings(exts)
	return strings.Join(exts, ", ")
}

// FileMIME decides the type of a file from what the client declared, its
// name and its bytes. The bytes win where they are unambiguous (a PDF
// labelled text/plain is a PDF); otherwise the declared type, then the
// name's extension. ok is false for a type the gateway does not forward.
func FileMIME(declared, name string, data []byte) (string, bool) {
	if len(data) > 0 {
		if bytes.HasPrefix(data, []byte("%PDF-")) {
			return "application/pdf", true
		}
		if len(data) >= 12 && string(data[4:8]) == "ftyp" && declared == "" {
			return "video/mp4", true
		}
	}
	if declared != "" && declared != "application/octet-stream" {
		if m, ok := acceptedFileMIME(declared); ok {
			return m, true
		}
	}
	if m, ok := FileTypes[strings.ToLower(path.Ext(name))]; ok {
		return m, true
	}
	if declared != "" && declared != "application/octet-stream" {
		m, _ := acceptedFileMIME(declared)
		return m, false
	}
	if len(data) > 0 {
		ct := http.DetectContentType(data)
		if m, ok := acceptedFileMIME(ct); ok {
			return m, true
		}
		if strings.HasPrefix(ct, "text/plain") {
			return "text/plain", true
		}
		return ct, false
	}
	return "", false
}

// wireFile is the object of a {"type":"file","file":{…}} part; an
// input_file part carries the same fields at its top level.
type wireFile struct {
	FileData string `json:"file_data"`
	Filename string `json:"filename"`
	FileURL  string `json:"file_url"`
	FileID   string `json:"file_id"`
}

// decodeFilePart turns a file or input_file part into a chat.File, or into
// a chat.Image when the file is an image (some clients send images that
// way).
func decodeFilePart(param string, p *wirePart, lim Limits) (*chat.File, *chat.Image, *Error) {
	var f wireFile
	if p.Type == "file" {
		raw := bytes.TrimSpace(p.File)
		if len(raw) == 0 || raw[0] != '{' {
			return nil, nil, BadRequest(param+".file", "invalid_file", param+".file must be an object with file_data (a data: URL) and filename.")
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, nil, BadRequest(param+".file", "invalid_file", param+".file is not a valid object.")
		}
		param += ".file"
	} else {
		f = wireFile{FileData: p.FileData, Filename: p.Filename, FileURL: p.FileURL, FileID: p.FileID}
	}
	name := f.Filename
	switch {
	case f.FileData != "":
		return decodeFileData(param, name, f.FileData, lim)
	case f.FileURL != "":
		u, err := url.Parse(f.FileURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, BadRequest(param+".file_url", "invalid_file_url", param+".file_url must be an http(s) URL.")
		}
		if name == "" {
			name = path.Base(u.Path)
		}
		return &chat.File{Name: name, URL: f.FileURL}, nil, nil
	case f.FileID != "":
		return nil, nil, BadRequest(param+".file_id", "unsupported_file_id",
			"file_id is not supported: this gateway has no Files API. Send the file inline as file_data (data:<type>;base64,…) with a filename.")
	}
	return nil, nil, BadRequest(param, "invalid_file", param+" needs file_data (data:<type>;base64,…) or file_url.")
}

// decodeFileData decodes a data: URL (or bare base64, with the type taken
// from the file name) and checks type and size.
func decodeFileData(param, name, s string, lim Limits) (*chat.File, *chat.Image, *Error) {
	declared := ""
	b64 := s
	if strings.HasPrefix(s, "data:") {
		meta, data, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
		if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return nil, nil, BadRequest(param+".file_data", "invalid_file_data", param+".file_data must be a base64 data URL (data:application/pdf;base64,…).")
		}
		declared = strings.TrimSuffix(strings.ToLower(meta), ";base64")
		b64 = data
	}
	if base64.StdEncoding.DecodedLen(len(b64)) > lim.MaxFileBytes+3 {
		return nil, nil, fileTooLarge(param, lim)
	}
	raw, err := decodeBase64(b64)
	if err != nil {
		return nil, nil, BadRequest(param+".file_data", "invalid_base64", param+".file_data does not contain valid base64.")
	}
	if len(raw) > lim.MaxFileBytes {
		return nil, nil, fileTooLarge(param, lim)
	}
	if strings.HasPrefix(declared, "image/") {
		img, oe := DecodeDataURL(param+".file_data", "data:"+declared+";base64,"+b64, lim.MaxImageBytes)
		if oe != nil {
			return nil, nil, oe
		}
		return nil, &img, nil
	}
	mime, ok := FileMIME(declared, name, raw)
	if !ok {
		what := mime
		if what == "" {
			what = "an unknown type"
		}
		return nil, nil, BadRequest(param, "unsupported_file_type", fmt.Sprintf(
			"%s is %s, which Gemini Business does not take. Accepted: %s; images go in image_url parts.", param, what, FileTypeList()))
	}
	if name == "" {
		name = "upload" + extFor(mime)
	}
	return &chat.File{Name: name, MIME: mime, Data: raw}, nil, nil
}

func extFor(mime string) string {
	best := ""
	for e, m := range FileTypes {
		if m == mime && (best == "" || len(e) < len(best)) {
			best = e
		}
	}
	return best
}

func fileTooLarge(param string, lim Limits) *Error {
	return BadRequest(param, "file_too_large", fmt.Sprintf("%s is larger than the %d MiB file limit.", param, lim.MaxFileBytes>>20))
}
