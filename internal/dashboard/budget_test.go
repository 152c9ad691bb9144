package dashboard_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/dashboard"
)

// TestBudgetCellInChromium: a budget cell reads 100% and turns red only
// when the budget is spent; a spend below it never reads as the budget
// (usd() alone would round $9.996 to $10.00), and amber starts at 80%.
func TestBudgetCellInChromium(t *testing.T) {
	node, script := layoutCheck(t)
	script = filepath.Join(filepath.Dir(script), "budget.mjs")
	tests := []struct {
		name          string
		spent, budget float64
		text, cls     string
	}{
		{"nothing spent", 0, 10, "$0.00 of $10.00 (0%)", "budget"},
		{"a share that floating point puts under its value", 2.9, 10, "$2.90 of $10.00 (29%)", "budget"},
		{"79.9% is not amber", 7.99, 10, "$7.99 of $10.00 (79%)", "budget"},
		{"80%", 8, 10, "$8.00 of $10.00 (80%)", "budget warn"},
		{"cents that round up to the budget", 9.996, 10, "$9.996 of $10.000 (99.9%)", "budget warn"},
		{"99.5% in cents", 9.95, 10, "$9.95 of $10.00 (99.5%)", "budget warn"},
		{"micro-dollars that round up to the budget", 0.0000626, 0.000062851, "$0.0000626 of $0.0000629 (99.6%)", "budget warn"},
		{"a budget that rounds down below the spend", 9.991, 9.994, "$9.991 of $9.994 (99.9%)", "budget warn"},
		{"a hair below", 10 - 1e-11, 10, "<$10.0000000000 of $10.0000000000 (99.9%)", "budget warn"},
		{"spent exactly", 10, 10, "$10.00 of $10.00 (100%)", "budget over"},
		{"over", 10.004, 10, "$10.00 of $10.00 (100%)", "budget over"},
		{"well over", 15.5, 10, "$15.50 of $10.00 (155%)", "budget over"},
		{"no budget", 1.5, 0, "$1.50 (no budget)", "budget"},
	}
	cases := make([][2]float64, len(tests))
	for i, tt := range tests {
		cases[i] = [2]float64{tt.spent, tt.budget}
	}
	arg, _ := json.Marshal(cases)
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	cmd := exec.Command(node, script, srv.URL, string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("budget.mjs: %v\n%s", err, stderr.String())
	}
	var v struct {
		ConsoleErrors []string
		Cells         []struct{ Text, Cls string }
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("budget.mjs printed %q: %v", raw, err)
	}
	if len(v.ConsoleErrors) > 0 {
		t.Errorf("console errors: %q", v.ConsoleErrors)
	}
	if len(v.Cells) != len(tests) {
		t.Fatalf("got %d cells, want %d", len(v.Cells), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Cells[i]; got.Text != tt.text || got.Cls != tt.cls {
				t.Errorf("budgetCell(%v, %v): got %q class %q, want %q class %q", tt.spent, tt.budget, got.Text, got.Cls, tt.text, tt.cls)
			}
		})
	}
}
