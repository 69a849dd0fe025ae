package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load starts from Default, applies the YAML file at path (if not empty),
// then TWOSTEP_* variables from env, and validates the result.
func Load(path string, env []string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// EnvNames lists every environment variable Load reads, for the README and
// for `twostep config`.
func EnvNames() []string {
	var names []string
	d := Default()
	walk(reflect.ValueOf(&d).Elem(), "TWOSTEP", func(name string, _ reflect.Value) error {
		names = append(names, name)
		return nil
	})
	return names
}

func applyEnv(c *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		// TWOSTEP_CONFIG names the file; TWOSTEP_TEST_* belong to the tests.
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "TWOSTEP_") && k != "TWOSTEP_CONFIG" && !strings.HasPrefix(k, "TWOSTEP_TEST_") {
			vars[k] = v
		}
	}
	known := map[string]bool{}
	err := walk(reflect.ValueOf(c).Elem(), "TWOSTEP", func(name string, f reflect.Value) error {
		known[name] = true
		v, ok := vars[name]
		if !ok {
			return nil
		}
		if err := setField(f, v); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k := range vars {
		if !known[k] {
			return fmt.Errorf("config: unknown environment variable %s (see README for the list)", k)
		}
	}
	return nil
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if _, text := fv.Addr().Interface().(encoding.TextUnmarshaler); !text && f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			continue // lists of structures (access_control.rules) are YAML-only
		}
		if f.Type.Kind() == reflect.Struct {
			if err := walk(fv, name, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(name, fv); err != nil {
			return err
		}
	}
	return nil
}

func setField(f reflect.Value, s string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", s)
		}
		f.SetInt(n)
	case reflect.Uint8, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a whole number in range: %q", s)
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}
