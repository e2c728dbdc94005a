package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// maxImagesPerRequest bounds n: every image is a turn that spends quota.
const maxImagesPerRequest = 4

// imageRequest is the body of /v1/images/generations (and the fields of
// /v1/images/edits).
type imageRequest struct {
	Prompt         string `json:"prompt"`
	Model          string `json:"model"`
	N              *int   `json:"n"`
	ResponseFormat string `json:"response_format"`
	Size           string `json:"size"`
	// Images are the input images of an edit (JSON form).
	Images []struct {
		ImageURL string `json:"image_url"`
	} `json:"images"`
	Image json.RawMessage `json:"image"`
}

type imageData struct {
	B64JSON       string `json:"b64_json,omitempty"`
	URL           string `json:"url,omitempty"`
	RevisedPrompt string `json:"revised_prompt,omitempty"`
}

type imagesResponse struct {
	Created int64       `json:"created"`
	Data    []imageData `json:"data"`
}

// handleImageGenerations serves POST /v1/images/generations.
func (s *Server) handleImageGenerations(w http.ResponseWriter, r *http.Request) {
	ri := infoFrom(r.Context())
	ri.logIt = true
	s.countRequest()
	body, oerr := requestBody(r)
	if oerr != nil {
		ri.errCode = oerr.Code
		oerr.Write(w)
		return
	}
	var req imageRequest
	if err := json.Unmarshal(body, &req); err != nil {
		oe := openai.BadRequest("", "invalid_json", "The request body is not a valid JSON object: "+err.Error()+".")
		ri.errCode = oe.Code
		oe.Write(w)
		return
	}
	s.serveImages(w, r, &req, nil)
}

// handleImageEdits serves POST /v1/images/edits: multipart (the OpenAI
// SDKs' form, image or image[] files) or JSON with images[].image_url.
func (s *Server) handleImageEdits(w http.ResponseWriter, r *http.Request) {
	ri := infoFrom(r.Context())
	ri.logIt = true
	s.countRequest()
	cfg := s.Config()
	var req imageRequest
	var imgs []chat.Image
	var oe *openai.Error
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			oe = bodyError(err)
		} else {
			defer r.MultipartForm.RemoveAll()
			imgs, oe = editFromForm(r, &req, cfg.Limits)
		}
	} else {
		imgs, oe = editFromJSON(r, &req, cfg.Limits)
	}
	if oe == nil && len(imgs) == 0 {
		oe = openai.BadRequest("image", "missing_image", "An edit needs at least one input image (image, or images[].image_url).")
	}
	if oe != nil {
		ri.errCode = oe.Code
		oe.Write(w)
		return
	}
	s.serveImages(w, r, &req, imgs)
}

// editFromForm reads an edit's fields and image files from a parsed
// multipart form.
func editFromForm(r *http.Request, req *imageRequest, lim openai.Limits) ([]chat.Image, *openai.Error) {
	req.Prompt = r.FormValue("prompt")
	req.Model = r.FormValue("model")
	req.ResponseFormat = r.FormValue("response_format")
	if v := r.FormValue("n"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, openai.BadRequest("n", "invalid_type", "n must be a whole number.")
		}
		req.N = &n
	}
	var imgs []chat.Image
	for _, key := range []string{"image", "image[]"} {
		for i, fh := range r.MultipartForm.File[key] {
			img, oe := formImage(fmt.Sprintf("%s[%d]", key, i), fh, lim)
			if oe != nil {
				return nil, oe
			}
			imgs = append(imgs, img)
		}
	}
	return imgs, nil
}

// formImage reads and checks one uploaded image file.
func formImage(param string, fh *multipart.FileHeader, lim openai.Limits) (chat.Image, *openai.Error) {
	unreadable := openai.BadRequest(param, "invalid_image", "Could not read "+param+".")
	f, err := fh.Open()
	if err != nil {
		return chat.Image{}, unreadable
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(maxImageBytes(lim))+1))
	f.Close()
	img, oe := imageFromBytes(param, data, lim)
	if oe != nil {
		return chat.Image{}, oe
	}
	if err != nil {
		return chat.Image{}, unreadable
	}
	return img, nil
}

// editFromJSON reads an edit from a JSON body, its images as data: URLs
// in images[].image_url or image.
func editFromJSON(r *http.Request, req *imageRequest, lim openai.Limits) ([]chat.Image, *openai.Error) {
	body, oe := requestBody(r)
	if oe != nil {
		return nil, oe
	}
	if err := json.Unmarshal(body, req); err != nil {
		return nil, openai.BadRequest("", "invalid_json", "The request body is not a valid JSON object: "+err.Error()+".")
	}
	urls := make([]string, 0, len(req.Images)+1)
	for _, im := range req.Images {
		urls = append(urls, im.ImageURL)
	}
	var single string
	if len(req.Image) > 0 && json.Unmarshal(req.Image, &single) == nil && single != "" {
		urls = append(urls, single)
	}
	var imgs []chat.Image
	for i, u := range urls {
		param := fmt.Sprintf("images[%d].image_url", i)
		if !strings.HasPrefix(u, "data:") {
			return nil, openai.BadRequest(param, "invalid_image_url", param+" must be a data: URL (data:image/png;base64,…); upload files as multipart/form-data.")
		}
		img, oe := openai.DecodeDataURL(param, u, maxImageBytes(lim))
		if oe != nil {
			return nil, oe
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

func maxImageBytes(lim openai.Limits) int {
	if lim.MaxImageBytes <= 0 {
		return 15 << 20
	}
	return lim.MaxImageBytes
}

func imageFromBytes(param string, data []byte, lim openai.Limits) (chat.Image, *openai.Error) {
	max := maxImageBytes(lim)
	if len(data) > max {
		return chat.Image{}, openai.BadRequest(param, "image_too_large", fmt.Sprintf("%s is larger than the %d MiB limit.", param, max>>20))
	}
	m, ok := openai.SniffImage(data)
	if !ok {
		return chat.Image{}, openai.BadRequest(param, "unsupported_image", param+" is not a JPEG, PNG, WebP or GIF image.")
	}
	return chat.Image{MIME: m, Data: data}, nil
}

// requestBody is the body the middleware read (withBody), or,
// without it, the body read now.
func requestBody(r *http.Request) ([]byte, *openai.Error) {
	if body := infoFrom(r.Context()).body; body != nil {
		return body, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	return body, nil
}

func bodyError(err error) *openai.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return openai.NewError(http.StatusRequestEntityTooLarge, openai.TypeInvalidRequest, "request_too_large",
			"The request body is larger than the limit of "+byteSize(mbe.Limit)+" (MAX_BODY_BYTES).")
	}
	return openai.BadRequest("", "read_error", "Could not read the request body.")
}

// imageModel picks the model an images request runs on: an image model
// it names, the image variant of a text model it names, else
// gemini-imagen (clients hard-code dall-e-3 or gpt-image-1).
func (s *Server) imageModel(name string) resolved {
	if m, ok := s.resolveModel(name); ok {
		if m.Media == pool.MediaImage {
			return m
		}
		if m.Media == pool.MediaText {
			if v, ok := s.resolveModel(name + suffixImage); ok {
				return v
			}
		}
	}
	m, _ := s.resolveModel(ModelImagen)
	if m.Name == "" {
		// A custom model list without gemini-imagen.
		m = s.withTools(resolved{Name: ModelImagen, Media: pool.MediaImage}, s.Config())
	}
	return m
}

func (s *Server) serveImages(w http.ResponseWriter, r *http.Request, req *imageRequest, inputs []chat.Image) {
	ri := infoFrom(r.Context())
	fail := func(oe *openai.Error) {
		ri.errCode = oe.Code
		oe.Write(w)
	}
	if strings.TrimSpace(req.Prompt) == "" {
		fail(openai.BadRequest("prompt", "missing_prompt", "prompt is required."))
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	if n < 1 || n > maxImagesPerRequest {
		fail(openai.BadRequest("n", "invalid_value", fmt.Sprintf("n must be from 1 to %d: every image is a separate generation that spends the account's image quota.", maxImagesPerRequest)))
		return
	}
	format := req.ResponseFormat
	if format == "" {
		format = "url"
	}
	if format != "url" && format != "b64_json" {
		fail(openai.BadRequest("response_format", "invalid_value", "response_format must be url or b64_json."))
		return
	}
	m := s.imageModel(req.Model)
	ri.ModelRequested, ri.ModelServed = req.Model, m.Name
	out := imagesResponse{Created: time.Now().Unix()}
	base := s.publicBase(r)
	for len(out.Data) < n {
		msgs := []chat.Message{{Role: chat.RoleUser, Text: req.Prompt, Images: inputs}}
		col := &collector{start: ri.start}
		res, err := s.deps.Pool.Chat(r.Context(), &pool.Request{Messages: msgs, ModelID: m.UpstreamID, Tools: m.Tools, Media: pool.MediaImage}, col)
		ri.servedBy(res)
		if err != nil {
			fail(toOpenAIError(err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
		files, ferr := s.fetchGenerated(ctx, res)
		cancel()
		var got int
		for _, f := range files {
			if !strings.HasPrefix(f.mime, "image/") {
				continue
			}
			got++
			d := imageData{}
			if format == "b64_json" {
				d.B64JSON = base64.StdEncoding.EncodeToString(f.data)
			} else {
				d.URL = base + "/files/" + f.name
			}
			out.Data = append(out.Data, d)
		}
		if got == 0 {
			msg := "Gemini Business answered without an image"
			if ferr != nil {
				msg = "The generated image could not be downloaded from Gemini Business: " + ferr.Error()
			} else if t := strings.TrimSpace(stripCtrl(col.text.String())); t != "" {
				msg += ": " + t
			}
			fail(openai.NewError(http.StatusBadGateway, openai.TypeServer, "no_image_generated", msg))
			return
		}
	}
	out.Data = out.Data[:n]
	writeJSON(w, http.StatusOK, out)
}

// stripCtrl drops the <ctrl46> status lines media turns carry.
func stripCtrl(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "<ctrl") {
			continue
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}
