package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// errUsage reports a command-line error already printed.
var errUsage = errors.New("usage")

// flags is a flag set whose every flag defaults to an AGORA_* environment
// variable. Values are validated when parsed, with errors naming both
// spellings.
type flags struct {
	*flag.FlagSet
	envErrs []error
}

func newFlags(name string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs}
}

func envName(flagName string) string {
	return "AGORA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// value registers a flag of any flag.Value, seeded from its variable.
func (f *flags) value(v flag.Value, name, usage string) {
	env := envName(name)
	if s, ok := os.LookupEnv(env); ok {
		if err := v.Set(s); err != nil {
			f.envErrs = append(f.envErrs, fmt.Errorf("invalid %s=%q: %v", env, s, err))
		}
	}
	f.Var(v, name, usage+" (env "+env+")")
}

func (f *flags) string(name, def, usage string) *string {
	v := &stringValue{def}
	f.value(v, name, usage)
	return &v.s
}

func (f *flags) bool(name string, def bool, usage string) *bool {
	v := &boolValue{def}
	f.value(v, name, usage)
	return &v.b
}

func (f *flags) size(name string, def int64, usage string) *int64 {
	v := &sizeValue{def}
	f.value(v, name, usage)
	return &v.n
}

func (f *flags) duration(name string, def time.Duration, usage string) *time.Duration {
	v := &durationValue{def}
	f.value(v, name, usage)
	return &v.d
}

// parse parses args; errors in the environment are reported first.
func (f *flags) parse(args []string) error {
	if len(f.envErrs) > 0 {
		return errors.Join(f.envErrs...)
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	return nil
}

type stringValue struct{ s string }

func (v *stringValue) String() string     { return v.s }
func (v *stringValue) Set(s string) error { v.s = s; return nil }

type boolValue struct{ b bool }

func (v *boolValue) String() string { return strconv.FormatBool(v.b) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("not a boolean")
	}
	v.b = b
	return nil
}
func (v *boolValue) IsBoolFlag() bool { return true }

type durationValue struct{ d time.Duration }

func (v *durationValue) String() string { return v.d.String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("not a duration like 30s or 5m")
	}
	v.d = d
	return nil
}

// sizeValue is a byte count: a plain number or one with a unit (KB, MB,
// GB, TB powers of 1000; KiB, MiB, GiB, TiB powers of 1024).
type sizeValue struct{ n int64 }

func (v *sizeValue) String() string { return strconv.FormatInt(v.n, 10) }
func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	v.n = n
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size like 10MiB or 1048576")
	}
	return n * mult, nil
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments (agora bundle export A B --out F), and
// returns the positional ones.
func parseInterleaved(f *flags, args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.parse(args); err != nil {
			return nil, err
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
