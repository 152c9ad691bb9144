package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/open"
)

const routeExportUsage = `usage: switchyard route export (--config FILE | --store DSN) --out DIR [--since 720h] [--tenant T] [--route R]

Writes the gateway's own training data, in the format route train reads:
every answered request of a route with capture_prompts that a client rated
(POST /v1/feedback) and whose usage record is stored. DIR/prompts.csv holds
its routing text (task = its route); DIR/scores.csv its deployment as the
model, the feedback as its quality and what it cost.`

// cmdRouteExport is "switchyard route export".
func cmdRouteExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, routeExportUsage) }
	cfgPath := fs.String("config", "", "config file whose store to read")
	dsn := fs.String("store", "", "store URL (sqlite://PATH or postgres://...), instead of --config")
	out := fs.String("out", "", "folder to write prompts.csv and scores.csv to (created)")
	since := fs.Duration("since", config.DefaultLearningRetention, "export requests captured this recently")
	tenant := fs.String("tenant", "", "export only this tenant's requests")
	route := fs.String("route", "", "export only this route's requests")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if extraArgs(fs, stderr, "route export") {
		return 2
	}
	if *out == "" || (*cfgPath == "") == (*dsn == "") {
		fs.Usage()
		return 2
	}
	if *since < 0 {
		fmt.Fprintf(stderr, "switchyard route export: --since %v must not be negative (it is how far back to export)\n", *since)
		return 2
	}
	url := *dsn
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "switchyard route export: %v\n", err)
			return 1
		}
		url = cfg.Store.Value()
	}
	ctx := context.Background()
	st, err := open.Existing(ctx, url)
	if err != nil {
		fmt.Fprintf(stderr, "switchyard route export: store: %v\n", err)
		return 1
	}
	defer st.Close()
	keep := func(e store.TrainingExample) bool {
		return (*tenant == "" || e.TenantID == *tenant) && (*route == "" || e.Route == *route)
	}
	n, err := exportTraining(ctx, st, time.Now().Add(-*since), keep, *out)
	if err != nil {
		fmt.Fprintf(stderr, "switchyard route export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d rated requests written to %s (train with: switchyard route train --data %s --out router.json)\n", n, *out, *out)
	return 0
}

// exportTraining writes the training examples captured since then that
// keep accepts to dir as a route-train data set, and reports how many.
func exportTraining(ctx context.Context, st store.LearningStore, since time.Time, keep func(store.TrainingExample) bool, dir string) (n int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	pf, err := os.Create(filepath.Join(dir, "prompts.csv"))
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, pf.Close()) }()
	sf, err := os.Create(filepath.Join(dir, "scores.csv"))
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, sf.Close()) }()
	pw, sw := csv.NewWriter(pf), csv.NewWriter(sf)
	_ = pw.Write([]string{"prompt_id", "split", "task", "prompt"})
	_ = sw.Write([]string{"prompt_id", "model", "quality", "quality_raw", "cost_usd", "output_chars"})
	err = st.TrainingExamples(ctx, since, func(e store.TrainingExample) error {
		if e.Deployment == "" || !keep(e) {
			return nil // not answered by a deployment (a cache hit), or not asked for
		}
		n++
		q := strconv.FormatFloat(e.Quality, 'g', -1, 64)
		if err := pw.Write([]string{e.RequestID, "train", e.Route, e.Text}); err != nil {
			return err
		}
		return sw.Write([]string{e.RequestID, e.Deployment, q, q, strconv.FormatFloat(e.CostUSD, 'g', -1, 64), ""})
	})
	if err != nil {
		return n, err
	}
	pw.Flush()
	sw.Flush()
	return n, errors.Join(pw.Error(), sw.Error())
}
