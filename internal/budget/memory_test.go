package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/budget"
	"github.com/switchyard-gw/switchyard/internal/budget/budgettest"
)

func TestMemoryConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T, now func() time.Time) budget.Budgets {
		return budget.NewMemory(now)
	})
}

func BenchmarkMemoryReserveSettle(b *testing.B) {
	m := budget.NewMemory(time.Now)
	scopes := []budget.BudgetScope{
		{Key: "key:abc", DailyUSD: 1e9, MonthlyUSD: 1e9},
		{Key: "tenant:t1", DailyUSD: 1e9, MonthlyUSD: 1e9},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, err := m.Reserve(ctx, scopes, 0.01)
		if err != nil {
			b.Fatal(err)
		}
		r.Settle(0.005)
	}
}
