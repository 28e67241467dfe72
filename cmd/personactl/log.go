package main

import (
	"os"

	"github.com/mana/personactl/apply/connect"
)

// openLog opens the debug log (--debug, PERSONACTL_LOG) and records in it
// the settings in effect, each with its source; closeLog closes it.
func (g *Globals) openLog(s Streams) (closeLog func() error, err error) {
	log, closeLog, err := connect.OpenLog(os.LookupEnv, g.Debug, s.Err)
	if err != nil {
		return nil, err
	}
	for _, st := range g.effective() {
		log.Info("setting", "name", st.Name, "value", st.Value, "source", st.Source)
	}
	g.log = log
	return closeLog, nil
}
