package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/pool"
)

// fileStore keeps generated images and videos on disk, in Config.FilesDir,
// for Config.FileTTL, and serves them at /files/<random id>.<ext>. Chat
// chunks then carry a short URL instead of megabytes of base64 that some
// clients cannot read in one SSE line. The random id is the capability:
// <img> tags cannot send an API key. Files survive restarts; expired ones
// are swept when new ones arrive and refused when asked for.
//
// Without a directory (tests, embedding) files are kept in memory,
// bounded by size, with the same expiry.
type fileStore struct {
	mu        sync.Mutex
	dir       string
	ttl       time.Duration
	maxMem    int
	mem       map[string]memFile
	memSize   int
	lastSweep time.Time
	now       func() time.Time
}

type memFile struct {
	data []byte
	at   time.Time
}

type storedFile struct {
	name string
	mime string
	data []byte
	at   time.Time
}

func newFileStore(dir string, ttl time.Duration, maxMem int) *fileStore {
	return &fileStore{dir: dir, ttl: ttl, maxMem: maxMem, mem: map[string]memFile{}, now: time.Now}
}

func (f *fileStore) setup(dir string, ttl time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dir, f.ttl = dir, ttl
}

// put stores data and returns its file name.
func (f *fileStore) put(mime string, data []byte) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	name := hex.EncodeToString(b[:]) + extFor(mime)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.dir == "" {
		f.mem[name] = memFile{data: data, at: now}
		f.memSize += len(data)
		f.evictLocked(now)
		return name, nil
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return "", err
	}
	tmp := filepath.Join(f.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, name)); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if now.Sub(f.lastSweep) > time.Minute {
		f.lastSweep = now
		go f.sweep()
	}
	return name, nil
}

// evictLocked drops expired files, then the oldest past the size bound.
func (f *fileStore) evictLocked(now time.Time) {
	for n, m := range f.mem {
		if f.ttl > 0 && now.Sub(m.at) > f.ttl {
			f.memSize -= len(m.data)
			delete(f.mem, n)
		}
	}
	for f.memSize > f.maxMem && len(f.mem) > 1 {
		oldest := ""
		for n, m := range f.mem {
			if oldest == "" || m.at.Before(f.mem[oldest].at) {
				oldest = n
			}
		}
		f.memSize -= len(f.mem[oldest].data)
		delete(f.mem, oldest)
	}
}

// sweep removes expired files from the directory.
func (f *fileStore) sweep() {
	f.mu.Lock()
	dir, ttl, now := f.dir, f.ttl, f.now()
	f.mu.Unlock()
	if dir == "" || ttl <= 0 {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && info.Mode().IsRegular() && now.Sub(info.ModTime()) > ttl {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

var errNoFile = errors.New("no such file")

// validName accepts only the names put makes: hex and an extension.
func validName(name string) bool {
	base, ext, ok := strings.Cut(name, ".")
	if !ok || len(base) != 32 || strings.Contains(ext, ".") || ext == "" {
		return false
	}
	for _, c := range base {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return mimeForExt("."+ext) != ""
}

func (f *fileStore) get(name string) (storedFile, error) {
	if !validName(name) {
		return storedFile{}, errNoFile
	}
	f.mu.Lock()
	dir, ttl, now := f.dir, f.ttl, f.now()
	if dir == "" {
		m, ok := f.mem[name]
		f.mu.Unlock()
		if !ok || ttl > 0 && now.Sub(m.at) > ttl {
			return storedFile{}, errNoFile
		}
		return storedFile{name: name, mime: mimeForExt(filepath.Ext(name)), data: m.data, at: m.at}, nil
	}
	f.mu.Unlock()
	p := filepath.Join(dir, name)
	info, err := os.Stat(p)
	if err != nil || !info.Mode().IsRegular() {
		return storedFile{}, errNoFile
	}
	if ttl > 0 && now.Sub(info.ModTime()) > ttl {
		os.Remove(p)
		return storedFile{}, errNoFile
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return storedFile{}, errNoFile
	}
	return storedFile{name: name, mime: mimeForExt(filepath.Ext(name)), data: data, at: info.ModTime()}, nil
}

var extMIME = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".bin": "application/octet-stream",
}

func extFor(mime string) string {
	for ext, m := range extMIME {
		if m == mime && ext != ".bin" {
			return ext
		}
	}
	return ".bin"
}

func mimeForExt(ext string) string { return extMIME[ext] }

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	sf, err := s.files.get(r.PathValue("name"))
	if err != nil {
		http.Error(w, "file not found (generated files are kept for GENERATED_FILE_TTL)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", sf.mime)
	w.Header().Set("Cache-Control", "private, max-age=86400")
	// The file came from upstream: never let a browser guess another type
	// (an "image" that sniffs as HTML would run on this origin).
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers range requests, which video players send.
	http.ServeContent(w, r, sf.name, sf.at, bytes.NewReader(sf.data))
}

// generatedFile is one downloaded generated file.
type generatedFile struct {
	mime string
	data []byte
	name string // in the file store
}

// fetchGenerated downloads the files a turn produced and stores them.
func (s *Server) fetchGenerated(ctx context.Context, res *pool.Result) ([]generatedFile, error) {
	up := s.upstreamClient()
	if up == nil {
		return nil, errors.New("no upstream client")
	}
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
	var out []generatedFile
	var firstErr error
	for _, f := range res.Files {
		data, err := up.DownloadFile(ctx, res.Credentials, session, f.FileID)
		if err != nil {
			s.log.Warn("download generated file", "request_id", infoFrom(ctx).ID, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		mime := sniffGenerated(data, f.MIMEType)
		name, err := s.files.put(mime, data)
		if err != nil {
			s.log.Error("store generated file", "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, generatedFile{mime: mime, data: data, name: name})
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// sniffGenerated trusts the bytes over the announced type.
func sniffGenerated(data []byte, announced string) string {
	ct := http.DetectContentType(data)
	if ct != "application/octet-stream" && !strings.HasPrefix(ct, "text/") {
		return ct
	}
	if announced != "" {
		return announced
	}
	return ct
}

// generatedFiles downloads the files a turn produced and returns Markdown
// that shows them, with URLs on this gateway.
func (s *Server) generatedFiles(r *http.Request, res *pool.Result) string {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	files, err := s.fetchGenerated(ctx, res)
	var b strings.Builder
	if err != nil {
		b.WriteString("\n\n*(a generated file could not be downloaded)*")
	}
	base := s.publicBase(r)
	for i, f := range files {
		infoFrom(r.Context()).filesOut++
		url := base + "/files/" + f.name
		if strings.HasPrefix(f.mime, "video/") {
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
