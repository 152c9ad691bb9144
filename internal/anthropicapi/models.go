package anthropicapi

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// modelInfo is one model object of the Anthropic Models API.
type modelInfo struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type modelList struct {
	Data    []modelInfo `json:"data"`
	HasMore bool        `json:"has_more"`
	FirstID *string     `json:"first_id"`
	LastID  *string     `json:"last_id"`
}

func newModel(id string, created time.Time) modelInfo {
	return modelInfo{Type: "model", ID: id, DisplayName: id, CreatedAt: created.UTC().Format(time.RFC3339)}
}

// WriteModels writes page, ids from PageModels, as the Anthropic Models
// API's list (GET /v1/models from an Anthropic client); more is has_more.
func WriteModels(w http.ResponseWriter, page []string, more bool, created time.Time) error {
	list := modelList{Data: make([]modelInfo, 0, len(page)), HasMore: more}
	for _, id := range page {
		list.Data = append(list.Data, newModel(id, created))
	}
	if len(page) > 0 {
		list.FirstID, list.LastID = &page[0], &page[len(page)-1]
	}
	return writeModelJSON(w, list)
}

// PageModels is the page of ids (sorted) the query q asks for: limit (1
// to 1000, default 20), after_id or before_id, and whether more lie beyond
// it in the direction of paging. A bad limit is a *BadRequestError.
func PageModels(ids []string, q url.Values) ([]string, bool, error) {
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, false, badRequest("limit", "limit: must be an integer from 1 to 1000")
		}
		limit = n
	}
	if before := q.Get("before_id"); before != "" {
		end := sort.SearchStrings(ids, before) // ids before it
		start := max(end-limit, 0)
		return ids[start:end], start > 0, nil
	}
	start := 0
	if after := q.Get("after_id"); after != "" {
		start = sort.SearchStrings(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+limit, len(ids))
	return ids[start:end], end < len(ids), nil
}

// WriteModel writes one Anthropic model object (GET /v1/models/{id}).
func WriteModel(w http.ResponseWriter, id string, created time.Time) error {
	return writeModelJSON(w, newModel(id, created))
}

func writeModelJSON(w http.ResponseWriter, v any) error {
	body, err := wirejson.Marshal(v)
	if err != nil {
		return fmt.Errorf("anthropicapi: encode models: %w", err)
	}
	if err := wirejson.Write(w, http.StatusOK, body); err != nil {
		return fmt.Errorf("anthropicapi: write models: %w", err)
	}
	return nil
}
