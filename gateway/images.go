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

// publicAddr reports whether an address is a global unicast address on
// the public internet. Addresses that embed an IPv4 address (IPv4-mapped,
// IPv4-compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address
// they lead to; everything that is not global unicast (loopback, private,
// link- and site-local, CGNAT, benchmarking, documentation, reserved,
// multicast …) is refused.
func publicAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if a.Is6() {
		if v4, ok := embeddedIPv4(a); ok {
			return publicAddr(v4)
		}
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case nat64.Contains(a), nat64Local.Contains(a), ipv4Compatible.Contains(a):
		return v4(12), true
	case sixToFour.Contains(a):
		return v4(2), true
	case teredo.Contains(a):
		// The client's address is stored inverted in the last 32 bits.
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
)

// nonPublic are ranges that IsGlobalUnicast and IsPrivate let through but
// that are not the public internet.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (CGNAT)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and broadcast
		"fec0::/10",       // site-local (deprecated, still routed inside sites)
		"2001:db8::/32",   // documentation
		"2001:10::/28",    // ORCHID
		"2001:20::/28",    // ORCHIDv2
		"100::/64",        // discard
		"5f00::/16",       // SRv6 SIDs
		"3fff::/20",       // documentation
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()
