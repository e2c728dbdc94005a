package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// Limits bound what one request may carry.
type Limits struct {
	MaxMessages   int // default 5000
	MaxImages     int // images in the whole request, default 32
	MaxImageBytes int // one decoded image, default 15 MiB
	MaxFiles      int // other files in the whole request, default 10
	MaxFileBytes  int // one decoded file, default 15 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessages <= 0 {
		l.MaxMessages = 5000
	}
	if l.MaxImages <= 0 {
		l.MaxImages = 32
	}
	if l.MaxImageBytes <= 0 {
		l.MaxImageBytes = 15 << 20
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 10
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 15 << 20
	}
	return l
}

type wireRequest struct {
	Model         string        `json:"model"`
	Messages      []wireMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	N *int `json:"n"`

	Tools             []wireTool      `json:"tools"`
	Functions         []wireFunction  `json:"functions"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	FunctionCall      json.RawMessage `json:"function_call"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
}

type wireTool struct {
	Type     string        `json:"type"`
	Function *wireFunction `json:"function"`
	Custom   *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Format      json.RawMessage `json:"format"`
	} `json:"custom"`
}

type wireFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	Name       string          `json:"name"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	FunctionCall *struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function_call"`
}

type wirePart struct {
	Type     string          `json:"type"`
	Text     *string         `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
	// File is the object of a "file" part; the flat fields are those of
	// an "input_file" part (files.go).
	File     json.RawMessage `json:"file"`
	FileData string          `json:"file_data"`
	Filename string          `json:"filename"`
	FileURL  string          `json:"file_url"`
	FileID   string          `json:"file_id"`
}

// DecodeChatRequest turns a /v1/chat/completions body into a chat.Request.
// Unknown fields are ignored (clients send many); what cannot be honoured
// is refused with an error that names the parameter. Data-URL images are
// decoded and checked here; http(s) image URLs are left for the caller to
// fetch (Image.URL set, Data nil).
func DecodeChatRequest(body []byte, lim Limits) (*chat.Request, *Error) {
	lim = lim.withDefaults()
	if !utf8.Valid(body) {
		return nil, BadRequest("", "invalid_utf8", "The request body is not valid UTF-8.")
	}
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, jsonError(err)
	}
	if w.N != nil && *w.N > 1 {
		return nil, BadRequest("n", "unsupported_parameter", fmt.Sprintf("n=%d is not supported: this gateway returns one choice per request.", *w.N))
	}
	if len(w.Messages) == 0 {
		return nil, BadRequest("messages", "missing_messages", "messages must be a non-empty array.")
	}
	if len(w.Messages) > lim.MaxMessages {
		return nil, BadRequest("messages", "too_many_messages", fmt.Sprintf("messages has %d entries; the limit is %d.", len(w.Messages), lim.MaxMessages))
	}
	req := &chat.Request{
		Model:        strings.TrimSpace(w.Model),
		Stream:       w.Stream,
		IncludeUsage: w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage,
		Messages:     make([]chat.Message, 0, len(w.Messages)),
	}
	if err := decodeTools(&w, req); err != nil {
		return nil, err
	}
	var media mediaCount
	for i, wm := range w.Messages {
		m, err := decodeMessage(i, wm, lim, &media)
		if err != nil {
			return nil, err
		}
		req.Messages = append(req.Messages, m)
	}
	return req, nil
}

func jsonError(err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return BadRequest("", "invalid_json", fmt.Sprintf("The request body is not valid JSON (at byte %d): %v.", se.Offset, se))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return BadRequest(field, "invalid_type", fmt.Sprintf("%s must be %s, not a JSON %s.", field, jsonKind(te.Type.Kind().String()), te.Value))
	default:
		return BadRequest("", "invalid_json", "The request body is not valid JSON: "+err.Error()+".")
	}
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "int", "int64", "float64":
		return "a number"
	}
	return "a " + k
}

// mediaCount counts the images and other files of a whole request
// against Limits as its messages are decoded.
type mediaCount struct{ images, files int }

func (c *mediaCount) addImage(param string, lim Limits) *Error {
	c.images++
	if c.images > lim.MaxImages {
		return BadRequest(param, "too_many_images", fmt.Sprintf("The request carries more than %d images.", lim.MaxImages))
	}
	return nil
}

func (c *mediaCount) addFile(param string, lim Limits) *Error {
	c.files++
	if c.files > lim.MaxFiles {
		return BadRequest(param, "too_many_files", fmt.Sprintf("The request carries more than %d files.", lim.MaxFiles))
	}
	return nil
}

// decodeMessage turns messages[i] into a chat message: its role, the
// calls an assistant made, and its content. Each step is a function of
// its own; BenchmarkDecodeChatRequestConversation measures that the split
// costs nothing per message.
func decodeMessage(i int, wm wireMessage, lim Limits, media *mediaCount) (chat.Message, *Error) {
	param := fmt.Sprintf("messages[%d]", i)
	var m chat.Message
	role, err := decodeRole(param, wm.Role)
	if err != nil {
		return m, err
	}
	m.Role = role
	for _, tc := range wm.ToolCalls {
		m.ToolCalls = append(m.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	if fc := wm.FunctionCall; fc != nil {
		m.ToolCalls = append(m.ToolCalls, chat.ToolCall{Name: fc.Name, Arguments: fc.Arguments})
	}
	if m.Role == chat.RoleTool {
		m.ToolCallID = wm.ToolCallID
		m.ToolName = wm.Name
	}
	return m, decodeContent(param, wm.Content, &m, lim, media)
}

func decodeRole(param, role string) (chat.Role, *Error) {
	switch strings.ToLower(role) {
	case "system", "developer":
		return chat.RoleSystem, nil
	case "user":
		return chat.RoleUser, nil
	case "assistant":
		return chat.RoleAssistant, nil
	case "tool", "function":
		return chat.RoleTool, nil
	case "":
		return "", BadRequest(param+".role", "missing_role", param+".role is required.")
	}
	return "", BadRequest(param+".role", "invalid_role", fmt.Sprintf("%s.role %q is not one of system, developer, user, assistant, tool.", param, role))
}

// decodeContent reads a message's content: absent, a string, or an array
// of parts.
func decodeContent(param string, raw json.RawMessage, m *chat.Message, lim Limits, media *mediaCount) *Error {
	c := bytes.TrimSpace(raw)
	switch {
	case len(c) == 0 || string(c) == "null":
		// Allowed: an assistant turn that only called tools.
		return nil
	case c[0] == '"':
		if err := json.Unmarshal(c, &m.Text); err != nil {
			return BadRequest(param+".content", "invalid_content", param+".content is not a valid string.")
		}
		return nil
	case c[0] == '[':
		var parts []wirePart
		if err := json.Unmarshal(c, &parts); err != nil {
			return BadRequest(param+".content", "invalid_content", param+".content must be a string or an array of content parts.")
		}
		return decodeParts(param, parts, m, lim, media)
	}
	return BadRequest(param+".content", "invalid_content", param+".content must be a string or an array of content parts.")
}

// decodeParts joins the text parts with newlines and collects the images
// and files.
func decodeParts(param string, parts []wirePart, m *chat.Message, lim Limits, media *mediaCount) *Error {
	var text strings.Builder
	for j := range parts {
		p := &parts[j]
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case "text", "input_text", "":
			if p.Text == nil {
				if p.Type == "" {
					return BadRequest(pp+".type", "invalid_content", pp+" has no type.")
				}
				return BadRequest(pp+".text", "invalid_content", pp+" is a text part without text.")
			}
			if text.Len() > 0 {
				text.WriteString("\n")
			}
			text.WriteString(*p.Text)
		case "image_url", "input_image":
			if err := media.addImage(pp, lim); err != nil {
				return err
			}
			img, err := decodeImagePart(pp, p.ImageURL, lim)
			if err != nil {
				return err
			}
			m.Images = append(m.Images, img)
		case "file", "input_file":
			if err := decodeFileInto(pp, p, m, lim, media); err != nil {
				return err
			}
		default:
			return BadRequest(pp+".type", "unsupported_content", fmt.Sprintf("%s.type %q is not supported; send text, image_url or file parts.", pp, p.Type))
		}
	}
	m.Text = text.String()
	return nil
}

// decodeFileInto adds a file part to m: as an image when it is one, else
// as a file.
func decodeFileInto(pp string, p *wirePart, m *chat.Message, lim Limits, media *mediaCount) *Error {
	f, img, err := decodeFilePart(pp, p, lim)
	if err != nil {
		return err
	}
	if img != nil {
		if err := media.addImage(pp, lim); err != nil {
			return err
		}
		m.Images = append(m.Images, *img)
		return nil
	}
	if err := media.addFile(pp, lim); err != nil {
		return err
	}
	m.Files = append(m.Files, *f)
	return nil
}

// decodeImagePart accepts {"url": "..."} or a bare string.
func decodeImagePart(param string, raw json.RawMessage, lim Limits) (chat.Image, *Error) {
	var u string
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		// Decode the (possibly megabytes long) URL once, as an object.
		var obj struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(raw, &obj) == nil {
			u = obj.URL
		}
	} else if len(raw) > 0 && raw[0] == '"' {
		json.Unmarshal(raw, &u)
	}
	if u == "" {
		return chat.Image{}, BadRequest(param+".image_url", "invalid_image_url", param+".image_url must have a url.")
	}
	if strings.HasPrefix(u, "data:") {
		return DecodeDataURL(param+".image_url.url", u, lim.MaxImageBytes)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return chat.Image{}, BadRequest(param+".image_url.url", "invalid_image_url", param+".image_url.url must be a data: URL or an http(s) URL.")
	}
	return chat.Image{URL: u}, nil
}

// ImageMIMEs are the image types the gateway forwards.
var ImageMIMEs = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}

// DecodeDataURL decodes data:<mime>;base64,<data> into an image, checking
// the bytes (not only the declared type) and the size.
func DecodeDataURL(param, u string, maxBytes int) (chat.Image, *Error) {
	meta, data, ok := strings.Cut(strings.TrimPrefix(u, "data:"), ",")
	if !ok || !strings.HasSuffix(strings.ToLower(meta), ";base64") {
		return chat.Image{}, BadRequest(param, "invalid_image_url", param+" must be a base64 data URL (data:image/png;base64,…).")
	}
	if base64.StdEncoding.DecodedLen(len(data)) > maxBytes+3 {
		return chat.Image{}, BadRequest(param, "image_too_large", fmt.Sprintf("%s is larger than the %d MiB limit.", param, maxBytes>>20))
	}
	raw, err := decodeBase64(data)
	if err != nil {
		return chat.Image{}, BadRequest(param, "invalid_base64", param+" does not contain valid base64.")
	}
	if len(raw) > maxBytes {
		return chat.Image{}, BadRequest(param, "image_too_large", fmt.Sprintf("%s is larger than the %d MiB limit.", param, maxBytes>>20))
	}
	mime, ok := SniffImage(raw)
	if !ok {
		return chat.Image{}, BadRequest(param, "unsupported_image", param+" is not a JPEG, PNG, WebP or GIF image.")
	}
	return chat.Image{MIME: mime, Data: raw}, nil
}

// SniffImage reports the type of image bytes, if it is one the gateway
// forwards. The declared type is not trusted: clients mislabel.
func SniffImage(b []byte) (string, bool) {
	mime := http.DetectContentType(b)
	for _, m := range ImageMIMEs {
		if m == mime {
			return mime, true
		}
	}
	return "", false
}

// decodeBase64 accepts standard or URL-safe alphabets, padded or not, with
// line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, " \t") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if n := len(s) - strings.Count(s, "\n") - strings.Count(s, "\r"); !strings.HasSuffix(s, "=") && n%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	buf := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(buf, []byte(s))
	return buf[:n], err
}
