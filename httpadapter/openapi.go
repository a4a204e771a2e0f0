package httpadapter

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// openAPIJSON is the OpenAPI 3.1 document of every route. Tests keep it
// true: its operations are the route table's, and every response the
// end-to-end tests receive validates against it.
//
//go:embed openapi.json
var openAPIJSON []byte

// openAPIFor returns the document with only the operations of routes.
func openAPIFor(routes []route) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		return nil, fmt.Errorf("httpadapter: embedded OpenAPI document: %w", err)
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("httpadapter: embedded OpenAPI document has no paths")
	}
	served := make(map[string]bool, len(routes))
	for _, rt := range routes {
		served[strings.ToLower(rt.method)+" "+rt.path] = true
	}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("httpadapter: embedded OpenAPI document: path %s is not an object", path)
		}
		for method := range item {
			if isOperation(method) && !served[method+" "+path] {
				delete(item, method)
			}
		}
		if !hasOperation(item) {
			delete(paths, path)
		}
	}
	return doc, nil
}

func isOperation(key string) bool {
	switch strings.ToUpper(key) {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions,
		http.MethodHead, http.MethodPatch, http.MethodTrace:
		return true
	}
	return false
}

func hasOperation(item map[string]any) bool {
	for k := range item {
		if isOperation(k) {
			return true
		}
	}
	return false
}

// serveOpenAPI serves the document with a server URL of the prefix the
// Handler is mounted under, so clients generated from it call the right
// paths.
func (h *Handler) serveOpenAPI(x *exchange) error {
	doc := maps.Clone(h.openAPI)
	prefix := strings.TrimSuffix(x.requestPath(), x.r.URL.EscapedPath())
	if prefix == "" {
		prefix = "/"
	}
	doc["servers"] = []any{map[string]any{"url": prefix}}
	x.writeJSON(http.StatusOK, "application/json", doc)
	return nil
}
