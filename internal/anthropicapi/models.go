package anthropicapi

import (
	"fmt"
	"net/http"
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

// WriteModels writes ids as the Anthropic Models API's list (GET
// /v1/models from an Anthropic client): one page, has_more false.
func WriteModels(w http.ResponseWriter, ids []string, created time.Time) error {
	list := modelList{Data: make([]modelInfo, 0, len(ids))}
	for _, id := range ids {
		list.Data = append(list.Data, newModel(id, created))
	}
	if len(ids) > 0 {
		list.FirstID, list.LastID = &ids[0], &ids[len(ids)-1]
	}
	return writeModelJSON(w, list)
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
