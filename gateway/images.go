package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"

	"github.com/gemgate/gemini-gateway/gateway/chat"
	"github.com/gemgate/gemini-gateway/gateway/openai"
)

// fetchImages downloads the http(s) images of the newest user message (the
// only ones uploaded; earlier ones become a placeholder in the transcript).
func (s *Server) fetchImages(ctx context.Context, req *chat.Request, cfg Config) *openai.Error {
	last := chat.LastUser(req.Messages)
	if last < 0 {
		return nil
	}
	imgs := req.Messages[last].Images
	for i := range imgs {
		if imgs[i].Data != nil || imgs[i].URL == "" {
			continue
		}
		data, err := fetchImage(ctx, imgs[i].URL, cfg)
		param := fmt.Sprintf("messages[%d].content image %d", last, i+1)
		if err != nil {
			return openai.BadRequest(param, "image_fetch_failed", "Could not fetch "+param+": "+err.Error()+".")
		}
		mime, ok := openai.SniffImage(data)
		if !ok {
			return openai.BadRequest(param, "unsupported_image", param+" is not a JPEG, PNG, WebP or GIF image.")
		}
		imgs[i].Data, imgs[i].MIME = data, mime
	}
	return nil
}

var errPrivateAddress = errors.New("it points at a loopback, private or link-local address, which the gateway does not fetch")

// fetchImage GETs an image URL with a timeout and a size cap, refusing
// addresses inside this machine or its network (checked on the address
// actually dialled, so a DNS answer cannot sneak one in).
func fetchImage(ctx context.Context, u string, cfg Config) ([]byte, error) {
	maxBytes := cfg.Limits.MaxImageBytes
	if maxBytes <= 0 {
		maxBytes = 15 << 20
	}
	dialer := &net.Dialer{Timeout: cfg.ImageFetchTimeout}
	if !cfg.allowPrivateImageURLs {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddr(ap.Addr()) {
				return errPrivateAddress
			}
			return nil
		}
	}
	client := &http.Client{
		Timeout: cfg.ImageFetchTimeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   cfg.ImageFetchTimeout,
			ResponseHeaderTimeout: cfg.ImageFetchTimeout,
			DisableKeepAlives:     true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ImageFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("the URL is invalid")
	}
	req.Header.Set("User-Agent", "gemini-gateway/1 (image fetch)")
	req.Header.Set("Accept", "image/*")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return nil, errPrivateAddress
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no answer within %s", cfg.ImageFetchTimeout)
		}
		return nil, errors.New("the request failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1))
	if err != nil {
		return nil, errors.New("the download broke off")
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("it is larger than %d MiB", maxBytes>>20)
	}
	return data, nil
}

// publicAddr reports whether an address is on the public internet.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() && !a.IsInterfaceLocalMulticast() &&
		!cgnat.Contains(a)
}

// cgnat is 100.64.0.0/10, shared address space that is not public either.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")
