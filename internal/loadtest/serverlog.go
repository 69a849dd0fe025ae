package loadtest

import (
	"os"
	"strings"
)

// serverLog is what the server's log says about the run.
type serverLog struct {
	locked, busy, errors, warns int
	samples                     []string // a few distinct ERROR/WARN lines
}

// scanServerLog counts lock errors, ERROR and WARN lines in the log at path.
func scanServerLog(path string) serverLog {
	b, err := os.ReadFile(path)
	if err != nil {
		return serverLog{samples: []string{"cannot read the server log: " + err.Error()}}
	}
	return parseServerLog(string(b))
}

// parseServerLog counts in a slog text log, keeping up to five distinct
// lines worth showing.
func parseServerLog(text string) serverLog {
	var s serverLog
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		s.locked += strings.Count(line, "database is locked")
		s.busy += strings.Count(line, "SQLITE_BUSY")
		isErr, isWarn := strings.Contains(line, "level=ERROR"), strings.Contains(line, "level=WARN")
		if isErr {
			s.errors++
		}
		if isWarn {
			s.warns++
		}
		if (isErr || isWarn || strings.Contains(line, "database is locked")) && len(s.samples) < 5 {
			// Distinct by message, not by time.
			key := line
			if i := strings.Index(line, "msg="); i >= 0 {
				key = line[i:]
			}
			if len(key) > 120 {
				key = key[:120]
			}
			if !seen[key] {
				seen[key] = true
				if len(line) > 300 {
					line = line[:300] + "…"
				}
				s.samples = append(s.samples, line)
			}
		}
	}
	return s
}
