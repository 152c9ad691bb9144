// Command report turns the rows bench/run.sh collects (one `switchyard
// bench --json` result per cell plus CPU ticks and peak RSS per process)
// into the markdown table of docs/benchmarks.md, with ratios to the floor
// and the Speed bar checked.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/loadgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cell is one target under one load.
type cell struct {
	target, load string
	stream       bool
	proxyTicks   float64
	simTicks     float64
	res          loadgen.Result
}

// The Speed bar.
const (
	barP50    = 1.2
	barCPU    = 1.2
	barMaxRPS = 0.9
	barRSSMB  = 60
)

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clk := fs.Float64("clk-tck", 100, "clock ticks per second (getconf CLK_TCK)")
	dur := fs.String("duration", "", "cell duration, for the heading")
	conns := fs.Int("conns", 50, "closed-loop connections, for the heading")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: report [--clk-tck N] ROWS.tsv")
		return 2
	}
	cells, rss, err := readRows(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Cells of %s each; max = closed loop with %d connections. CPU is the process under test (the sim itself for direct), per successful request.\n\n", *dur, *conns)
	fmt.Fprintln(stdout, "| requests | load | target | ok req/s | errors | p50 ms | p99 ms | TTFT p50 ms | CPU µs/req | sim CPU µs/req | p50 ×floor | CPU ×floor | req/s ×floor |")
	fmt.Fprintln(stdout, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	floor := map[string]*cell{}
	for i := range cells {
		if cells[i].target == "floor" {
			floor[key(&cells[i])] = &cells[i]
		}
	}
	var worstP50, worstCPU, worstMax float64
	gwErrors := 0
	for i := range cells {
		c := &cells[i]
		f := floor[key(c)]
		kind := "json"
		if c.stream {
			kind = "stream"
		}
		ttft := "–"
		if c.res.TTFT != nil {
			ttft = msf(float64(c.res.TTFT.P50))
		}
		rp50, rcpu, rrps := "", "", ""
		if f != nil && c.target != "direct" {
			p := ratio(float64(c.res.Latency.P50), float64(f.res.Latency.P50))
			u := ratio(cpuPerReq(c.proxyTicks, *clk, c.res.OK), cpuPerReq(f.proxyTicks, *clk, f.res.OK))
			r := ratio(c.res.Throughput, f.res.Throughput)
			rp50, rcpu, rrps = fmt.Sprintf("%.2f", p), fmt.Sprintf("%.2f", u), fmt.Sprintf("%.2f", r)
			if c.target == "switchyard" {
				gwErrors += c.res.Errors
				if c.res.OK == 0 {
					// Nothing answered: no ratio means anything, so the bar fails.
					p, u, r = math.Inf(1), math.Inf(1), 0
				}
				if c.load == "max" {
					worstMax = minNonZero(worstMax, r)
				} else {
					worstP50 = max(worstP50, p)
				}
				worstCPU = max(worstCPU, u)
			}
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %.0f | %d | %s | %s | %s | %.0f | %.0f | %s | %s | %s |\n",
			kind, c.load, c.target, c.res.Throughput, c.res.Errors,
			msf(float64(c.res.Latency.P50)), msf(float64(c.res.Latency.P99)), ttft,
			cpuPerReq(c.proxyTicks, *clk, c.res.OK), cpuPerReq(c.simTicks, *clk, c.res.OK), rp50, rcpu, rrps)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| process | peak RSS (VmHWM) MB | of it file-backed (RssFile at the end) MB |")
	fmt.Fprintln(stdout, "|---|---:|---:|")
	for _, r := range rss {
		file := "–" // rows of an older run.sh
		if r.fileKB >= 0 {
			file = fmt.Sprintf("%.1f", r.fileKB/1024)
		}
		fmt.Fprintf(stdout, "| %s | %.1f | %s |\n", r.name, r.kb/1024, file)
	}
	fmt.Fprintln(stdout)
	gwRSS := 0.0
	for _, r := range rss {
		if r.name == "switchyard" {
			gwRSS = r.kb / 1024
		}
	}
	fmt.Fprintln(stdout, "| bar | limit | switchyard (worst cell) | |")
	fmt.Fprintln(stdout, "|---|---|---:|---|")
	fmt.Fprintf(stdout, "| p50 latency ×floor (500, 1000 req/s) | ≤ %.1f | %.3f | %s |\n", barP50, worstP50, pass(worstP50 <= barP50))
	fmt.Fprintf(stdout, "| CPU per request ×floor | ≤ %.1f | %.3f | %s |\n", barCPU, worstCPU, pass(worstCPU <= barCPU))
	fmt.Fprintf(stdout, "| max throughput ×floor | ≥ %.1f | %.3f | %s |\n", barMaxRPS, worstMax, pass(worstMax >= barMaxRPS))
	fmt.Fprintf(stdout, "| failed requests | 0 | %d | %s |\n", gwErrors, pass(gwErrors == 0))
	fmt.Fprintf(stdout, "| peak RSS | < %d MB | %.1f MB | %s |\n", barRSSMB, gwRSS, pass(gwRSS > 0 && gwRSS < barRSSMB))
	return 0
}

func key(c *cell) string { return fmt.Sprintf("%v/%s", c.stream, c.load) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func minNonZero(a, b float64) float64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

func pass(ok bool) string {
	if ok {
		return "pass"
	}
	return "**miss**"
}

func msf(ns float64) string { return fmt.Sprintf("%.2f", ns/1e6) }

// cpuPerReq converts clock ticks spent over n requests to microseconds per
// request.
func cpuPerReq(ticks, clk float64, n int) float64 {
	if n == 0 || clk == 0 {
		return 0
	}
	return ticks / clk * 1e6 / float64(n)
}

type rssRow struct {
	name   string
	kb     float64 // VmHWM
	fileKB float64 // RssFile: mapped executable and library pages
}

func readRows(path string) ([]cell, []rssRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var (
		cells []cell
		rss   []rssRow
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		switch {
		case fields[0] == "cell" && len(fields) == 7:
			c := cell{target: fields[1], stream: fields[2] == "true", load: fields[3]}
			c.proxyTicks, _ = strconv.ParseFloat(fields[4], 64)
			c.simTicks, _ = strconv.ParseFloat(fields[5], 64)
			data, err := os.ReadFile(fields[6])
			if err != nil {
				return nil, nil, err
			}
			if err := json.Unmarshal(data, &c.res); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", fields[6], err)
			}
			cells = append(cells, c)
		case fields[0] == "rss" && len(fields) >= 3:
			r := rssRow{name: fields[1], fileKB: -1}
			r.kb, _ = strconv.ParseFloat(fields[2], 64)
			if len(fields) > 3 {
				r.fileKB, _ = strconv.ParseFloat(fields[3], 64)
			}
			rss = append(rss, r)
		}
	}
	return cells, rss, sc.Err()
}
