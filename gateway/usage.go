package gateway

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/openai"
	"github.com/gemgate/gemini-gateway/gateway/usage"
)

// otherModel stands for a requested model the gateway does not serve, so
// garbage model names cannot grow the usage table.
const otherModel = "(other)"

// recordUsage counts a finished chat request.
func (s *Server) recordUsage(ri *requestInfo) {
	rec := s.deps.Usage
	if rec == nil {
		return
	}
	model := ri.ModelServed
	if model == "" {
		model = ri.ModelRequested
	}
	if _, ok := s.model(model); !ok {
		model = otherModel
	}
	c := usage.Counts{Requests: 1, PromptTokens: int64(ri.PromptTokens), CompletionTokens: int64(ri.OutputTokens),
		ImagesIn: int64(ri.imagesIn), FilesOut: int64(ri.filesOut)}
	if ri.Status >= 400 || ri.errCode != "" {
		c.Errors = 1
	}
	if ri.TTFT > 0 {
		c.ObserveTTFT(ri.TTFT)
	}
	rec.Record(ri.Client, ri.Account, model, c)
}

// UsageRowJSON is one day of one client, account or model.
type UsageRowJSON struct {
	Day              string  `json:"day"`
	Client           *string `json:"client,omitempty"`
	Account          *string `json:"account,omitempty"`
	Model            *string `json:"model,omitempty"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	ImagesIn         int64   `json:"images_in"`
	FilesOut         int64   `json:"files_out"`
	TTFTP50          int64   `json:"ttft_ms_p50"`
	TTFTP95          int64   `json:"ttft_ms_p95"`
}

// UsageQuery is a validated usage request.
type UsageQuery struct {
	From, To, GroupBy string
}

// ParseUsageQuery reads from, to (YYYY-MM-DD; default the last 30 days up
// to today) and group_by (client, account or model; default client).
func ParseUsageQuery(from, to, groupBy string, now time.Time) (UsageQuery, *openai.Error) {
	q := UsageQuery{From: from, To: to, GroupBy: groupBy}
	if q.To == "" {
		q.To = now.Format(time.DateOnly)
	}
	t, err := time.Parse(time.DateOnly, q.To)
	if err != nil {
		return q, openai.BadRequest("to", "invalid_date", "to must be a date such as 2026-12-07.")
	}
	if q.From == "" {
		q.From = t.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	f, err := time.Parse(time.DateOnly, q.From)
	if err != nil {
		return q, openai.BadRequest("from", "invalid_date", "from must be a date such as 2026-11-08.")
	}
	if f.After(t) {
		return q, openai.BadRequest("from", "invalid_range", "from is after to.")
	}
	if t.Sub(f) > 366*24*time.Hour {
		return q, openai.BadRequest("from", "invalid_range", "Ask for at most 366 days at once.")
	}
	switch q.GroupBy {
	case "":
		q.GroupBy = usage.ByClient
	case usage.ByClient, usage.ByAccount, usage.ByModel:
	default:
		return q, openai.BadRequest("group_by", "invalid_group_by", "group_by must be client, account or model.")
	}
	return q, nil
}

// Usage returns the grouped usage rows of a query, with what this
// instance recorded so far included.
func (s *Server) Usage(r *http.Request, q UsageQuery) ([]usage.Row, error) {
	rec := s.deps.Usage
	if rec == nil || rec.Store == nil {
		return nil, nil
	}
	if err := rec.Flush(r.Context()); err != nil {
		s.log.Warn("write usage", "err", err)
	}
	rows, err := rec.Store.UsageDays(r.Context(), q.From, q.To)
	if err != nil {
		return nil, err
	}
	return usage.Group(rows, q.GroupBy), nil
}

func toUsageJSON(r usage.Row, by string) UsageRowJSON {
	j := UsageRowJSON{Day: r.Day, Requests: r.Requests, Errors: r.Errors, PromptTokens: r.PromptTokens,
		CompletionTokens: r.CompletionTokens, ImagesIn: r.ImagesIn, FilesOut: r.FilesOut,
		TTFTP50: r.Percentile(0.50), TTFTP95: r.Percentile(0.95)}
	switch by {
	case usage.ByClient:
		j.Client = &r.Client
	case usage.ByAccount:
		j.Account = &r.Account
	case usage.ByModel:
		j.Model = &r.Model
	}
	return j
}

func (s *Server) adminUsage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, oerr := ParseUsageQuery(v.Get("from"), v.Get("to"), v.Get("group_by"), time.Now())
	if oerr != nil {
		oerr.Write(w)
		return
	}
	format := v.Get("format")
	if format != "" && format != "json" && format != "csv" {
		openai.BadRequest("format", "invalid_format", "format must be json or csv.").Write(w)
		return
	}
	if s.deps.Usage == nil {
		openai.NewError(http.StatusServiceUnavailable, openai.TypeUnavailable, "usage_unavailable", "Usage is not recorded: the database could not be opened.").Write(w)
		return
	}
	rows, err := s.Usage(r, q)
	if err != nil {
		s.log.Warn("read usage", "request_id", infoFrom(r.Context()).ID, "err", err)
		openai.NewError(http.StatusInternalServerError, openai.TypeServer, "usage_store_error", "Could not read usage; see the gateway log.").Write(w)
		return
	}
	out := make([]UsageRowJSON, len(rows))
	for i, row := range rows {
		out[i] = toUsageJSON(row, q.GroupBy)
	}
	if format == "csv" {
		writeUsageCSV(w, q, out)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": q.From, "to": q.To, "group_by": q.GroupBy, "rows": out})
}

// csvCell keeps a spreadsheet from reading a name as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeUsageCSV(w http.ResponseWriter, q UsageQuery, rows []UsageRowJSON) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gemini-gateway-usage-`+q.From+`-`+q.To+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"day", q.GroupBy, "requests", "errors", "prompt_tokens", "completion_tokens", "images_in", "files_out", "ttft_ms_p50", "ttft_ms_p95"})
	for _, r := range rows {
		name := ""
		switch {
		case r.Client != nil:
			name = *r.Client
		case r.Account != nil:
			name = *r.Account
		case r.Model != nil:
			name = *r.Model
		}
		i := func(n int64) string { return strconv.FormatInt(n, 10) }
		cw.Write([]string{r.Day, csvCell(name), i(r.Requests), i(r.Errors), i(r.PromptTokens), i(r.CompletionTokens),
			i(r.ImagesIn), i(r.FilesOut), i(r.TTFTP50), i(r.TTFTP95)})
	}
	cw.Flush()
}
