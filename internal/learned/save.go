package learned

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Save writes the router file at path, replacing any file there at once:
// the router is written to a new file beside it and renamed over it, so a
// failed write leaves the old file (or none), never part of a router. A
// router whose file would be larger than MaxFileBytes, which Load refuses,
// is an error and nothing is written.
func (r *Router) Save(path string) error {
	b, err := json.MarshalIndent(r.file, "", " ")
	if err != nil {
		return fmt.Errorf("learned: encode router: %w", err)
	}
	b = append(b, '\n')
	if len(b) > MaxFileBytes {
		return fmt.Errorf("learned: %s: the router file would be %.1f MiB, over the %d MiB a router file may be: not written", path, mib(int64(len(b))), MaxFileBytes>>20)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("learned: %w", err)
	}
	return nil
}

// writeFileAtomic writes b to a new file in path's folder and renames it
// to path (the file a symbolic link at path points to, if it is one).
func writeFileAtomic(path string, b []byte) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkFileSize is route train's usage error for options whose router file
// would be larger than MaxFileBytes: at least minFileBytes, whatever the
// data, so training with them would only end in Save's error.
func (o TrainOptions) checkFileSize() error {
	n := o.minFileBytes()
	if n < MaxFileBytes { // the rest of the file takes a byte at least

		return nil
	}
	if o.Kind == KindDifficulty {
		return fmt.Errorf("--trees %d of --depth %d: the router file would be at least %.1f MiB, over the %d MiB a router file may be (the gateway and route eval refuse a larger one); lower --trees or --depth",
			o.Trees, o.Depth, mib(n), MaxFileBytes>>20)
	}
	return fmt.Errorf("--dim %d and --hidden %d: the router file would be at least %.1f MiB, over the %d MiB a router file may be (the gateway and route eval refuse a larger one); lower --dim or --hidden (their product must stay under %d)",
		o.Dim, o.Hidden, mib(n), MaxFileBytes>>20, MaxFileBytes/4*3/4)
}

// minJSONNumber is the fewest bytes Save gives a number in the trees'
// arrays: a newline, four spaces of indent, a digit and a comma but for
// the last.
const minJSONNumber = 6

// minFileBytes is a lower bound on the size of the file of a router trained
// with o (which Check passes), from the options alone: the network's
// embedding, Dim × Hidden float32s in base64, or the difficulty router's
// Trees complete trees of Depth, 2^Depth − 1 features and thresholds and
// 2^Depth leaves each. The rest of the file depends on the data.
func (o TrainOptions) minFileBytes() int64 {
	if o.Kind == KindDifficulty {
		if o.Depth <= 0 {
			return 0 // boost fits no trees
		}
		perTree := 3<<o.Depth - 2 // Depth is at most maxDepth
		nums := float64(o.Trees) * float64(perTree)
		return int64(math.Min(nums*minJSONNumber, math.MaxInt64/2))
	}
	raw := 4 * int64(o.Dim) * int64(o.Hidden) // bounded by MaxDim × MaxHidden
	return (raw + 2) / 3 * 4
}

// mib is n bytes in MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }
