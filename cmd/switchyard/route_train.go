package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/learned"
)

// trainFlags are route train's flags (learned.TrainMain defines them), true
// for a boolean one (it takes no value argument). A test keeps the list in
// step with TrainMain's.
var trainFlags = map[string]bool{
	"cv": false, "cv-min-prompts": false, "data": false, "depth": false, "dim": false,
	"embed-key-env": false, "embed-model": false, "embed-url": false, "epochs": false,
	"hidden": false, "holdout": false, "kind": false, "l2-dev": false, "l2-emb": false,
	"l2-task": false, "min-leaf": false, "no-centre": true, "out": false, "prices": false,
	"ridge": false, "seed": false, "shrink": false, "target": false, "trees": false,
	"within": true,
}

// cmdRouteTrain is "switchyard route train": learned.TrainMain, with the
// flags it would take as they are checked first. A value that is not one
// of a flag's choices (a --kind or --target it would otherwise swap for its
// default), a negative count or regularisation, a shrinkage that is not
// positive, or an --out it could never write is a usage error (exit 2)
// naming the flag, before any data is read or any training time spent.
func cmdRouteTrain(args []string, stdout, stderr io.Writer) int {
	if err := checkTrainFlags(args); err != nil {
		fmt.Fprintf(stderr, "route train: %v\n", err)
		return 2
	}
	return learned.TrainMain(args, stdout, stderr)
}

// checkTrainFlags checks the values of route train's flags in args. Flags
// that do not parse, or values that are not numbers, are left to TrainMain,
// which reports them.
func checkTrainFlags(args []string) error {
	fs := flag.NewFlagSet("route train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := map[string]string{}
	for name, isBool := range trainFlags {
		if isBool {
			fs.Bool(name, false, "")
			continue
		}
		fs.Func(name, "", func(v string) error { vals[name] = v; return nil })
	}
	if fs.Parse(args) != nil {
		return nil
	}
	oneOf := func(name string, choices ...string) error {
		v, ok := vals[name]
		if !ok {
			return nil
		}
		for _, c := range choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("--%s %q: want one of %q", name, v, choices)
	}
	atLeast := func(name string, lo int64) error {
		v, ok := vals[name]
		if n, err := strconv.ParseInt(v, 0, 64); ok && err == nil && n < lo {
			return fmt.Errorf("--%s %d: want at least %d", name, n, lo)
		}
		return nil
	}
	number := func(name string, positive bool) error {
		v, ok := vals[name]
		x, err := strconv.ParseFloat(v, 64)
		switch {
		case !ok || err != nil:
			return nil
		case math.IsNaN(x) || math.IsInf(x, 0):
			return fmt.Errorf("--%s %s: want a finite number", name, v)
		case positive && x <= 0:
			return fmt.Errorf("--%s %s: want a number above 0", name, v)
		case x < 0:
			return fmt.Errorf("--%s %s: must not be negative", name, v)
		}
		return nil
	}
	err := errors.Join(
		oneOf("kind", "", learned.KindDifficulty),
		oneOf("target", learned.TargetFail, learned.TargetIRT, learned.TargetGap),
		oneOf("cv", "", "task", "set", "both", "settask"),
		atLeast("trees", 0), atLeast("min-leaf", 1), atLeast("cv-min-prompts", 1),
		number("shrink", true), number("l2-emb", false), number("l2-dev", false), number("l2-task", false), number("ridge", false),
	)
	if err != nil {
		return err
	}
	if vals["cv"] != "" {
		return nil // cross-validation writes no router
	}
	out, ok := vals["out"]
	if !ok {
		out = "router.json"
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return fmt.Errorf("--out %s is a directory: want the router file to write", out)
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return fmt.Errorf("--out %s: its folder %s does not exist", out, filepath.Dir(out))
	}
	return nil
}
