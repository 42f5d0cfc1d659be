"""After two workers trained to iteration 20 and one process resumed to 40:
the line of iteration 20 counts both workers' replay shards, and the resumed
process, which loaded every shard, holds at least as many states."""
import json
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [m["iteration"] for m in lines] == [20, 40], lines
before = lines[0]["sampler"]["replay_size"][0]
after = lines[1]["sampler"]["replay_size"][0]
assert before > 0 and after >= before, (before, after)
print("ok: replay %d states at 20 (two shards), %d at 40 (one process)"
      % (before, after))
