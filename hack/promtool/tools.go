//go:build tools

// Keeps promtool's module in go.mod for `go mod tidy`.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
