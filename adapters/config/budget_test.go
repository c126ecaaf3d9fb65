package config

import (
	"strings"
	"testing"
)

func TestAnswerBufferKeyAndBufferTotals(t *testing.T) {
	c := mustLoad(t, writeRoot(t, oneSite, nil))
	if c.Sites[0].Core.AnswerBuffer != 16<<20 || c.AnswerBufferTotal != DefaultAnswerBufferTotal || c.QueryBufferTotal != DefaultQueryBufferTotal {
		t.Fatalf("defaults: answer_buffer %d, totals %d/%d", c.Sites[0].Core.AnswerBuffer, c.AnswerBufferTotal, c.QueryBufferTotal)
	}
	main := "sites.update({'s1': {'socket': '/omd/sites/s1/tmp/run/live', 'answer_buffer': 4 << 20}})\n"
	globals := map[string]string{"memory.mk": "liveproxyd_answer_buffer_total = 512 << 20\nliveproxyd_query_buffer_total = 8 << 20\n" +
		"liveproxyd_default_connection_params = {'answer_buffer': 1 << 20}\n"}
	c = mustLoad(t, writeRoot(t, main, globals))
	if c.Sites[0].Core.AnswerBuffer != 4<<20 || c.AnswerBufferTotal != 512<<20 || c.QueryBufferTotal != 8<<20 {
		t.Fatalf("set: answer_buffer %d, totals %d/%d", c.Sites[0].Core.AnswerBuffer, c.AnswerBufferTotal, c.QueryBufferTotal)
	}
}

func TestAnswerBufferErrorsNameFileLineSiteKey(t *testing.T) {
	main := "sites.update({'s1': {'socket': '/s',\n 'answer_buffer': 12}})\n"
	e := loadErr(t, writeRoot(t, main, nil))
	if !strings.HasSuffix(e.File, "liveproxyd.mk") || e.Line != 2 || e.Site != "s1" || e.Key != "answer_buffer" ||
		!strings.Contains(e.Msg, "must be an integer from 1024 to 1073741824, got 12") {
		t.Fatalf("error %v (file %s line %d site %q key %q)", e, e.File, e.Line, e.Site, e.Key)
	}
}

func TestBufferTotalErrorsNameFileAndLine(t *testing.T) {
	for _, name := range []string{"liveproxyd_answer_buffer_total", "liveproxyd_query_buffer_total"} {
		for _, value := range []string{"'64M'", "1024", "1 << 41", "True"} {
			root := writeRoot(t, oneSite, map[string]string{"memory.mk": "# budgets\n\n" + name + " = " + value + "\n"})
			e := loadErr(t, root)
			if !strings.HasSuffix(e.File, "liveproxyd.d/memory.mk") || e.Line != 3 || !strings.Contains(e.Msg, name+": must be a number of bytes") {
				t.Fatalf("%s = %s: error %v (file %s line %d)", name, value, e, e.File, e.Line)
			}
		}
	}
}
