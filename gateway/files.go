package gateway

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// fileStore keeps generated images in memory, bounded by total size, and
// serves them at /files/<random id>.<ext>. Chat chunks then carry a short
// URL instead of megabytes of base64 that some clients cannot read in one
// SSE line. The random id is the capability: <img> tags cannot send an
// API key.
type fileStore struct {
	mu    sync.Mutex
	max   int
	size  int
	ll    *list.List
	byKey map[string]*list.Element
}

type storedFile struct {
	name string
	mime string
	data []byte
}

func newFileStore(max int) *fileStore {
	return &fileStore{max: max, ll: list.New(), byKey: make(map[string]*list.Element)}
}

func (f *fileStore) put(mime string, data []byte) string {
	var b [16]byte
	rand.Read(b[:])
	name := hex.EncodeToString(b[:]) + extFor(mime)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byKey[name] = f.ll.PushFront(storedFile{name: name, mime: mime, data: data})
	f.size += len(data)
	for f.size > f.max && f.ll.Len() > 1 {
		old := f.ll.Back()
		sf := old.Value.(storedFile)
		f.size -= len(sf.data)
		delete(f.byKey, sf.name)
		f.ll.Remove(old)
	}
	return name
}

func (f *fileStore) get(name string) (storedFile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	el, ok := f.byKey[name]
	if !ok {
		return storedFile{}, false
	}
	return el.Value.(storedFile), true
}

func extFor(mime string) string {
	switch mime {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "video/mp4":
		return ".mp4"
	}
	return ".bin"
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	sf, ok := s.files.get(r.PathValue("name"))
	if !ok {
		http.Error(w, "file not found (generated files are kept in memory for a while)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", sf.mime)
	// The file came from upstream: never let a browser guess another type
	// (an "image" that sniffs as HTML would run on this origin).
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(sf.data)))
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Write(sf.data)
}

// generatedFiles downloads the files a turn produced and returns Markdown
// that shows them, with URLs on this gateway.
func (s *Server) generatedFiles(r *http.Request, res *pool.Result) string {
	up := s.upstreamClient()
	if up == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	session := res.UpstreamSession
	if meta, err := up.GeneratedFiles(ctx, res.Credentials, firstNonEmpty(session, res.Session)); err == nil {
		for _, m := range meta {
			if m.Session != "" {
				session = m.Session
				break
			}
		}
	}
	if session == "" {
		session = res.Session
	}
	var b strings.Builder
	for i, f := range res.Files {
		data, err := up.DownloadFile(ctx, res.Credentials, session, f.FileID)
		if err != nil {
			s.log.Warn("download generated file", "request_id", infoFrom(r.Context()).ID, "err", err)
			b.WriteString("\n\n*(a generated file could not be downloaded)*")
			continue
		}
		mime := f.MIMEType
		if mime == "" {
			mime = http.DetectContentType(data)
		}
		name := s.files.put(mime, data)
		infoFrom(r.Context()).filesOut++
		url := "http://" + r.Host + "/files/" + name
		if strings.HasPrefix(mime, "video/") {
			b.WriteString("\n\n<video controls src=\"" + url + "\"></video>")
		} else {
			b.WriteString("\n\n![generated image " + strconv.Itoa(i+1) + "](" + url + ")")
		}
	}
	return b.String()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
