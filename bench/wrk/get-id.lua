-- GET one item by a random id; ids from 1..N (BENCH_IDS) or from the file BENCH_ID_FILE.
local ids = {}
local file = os.getenv("BENCH_ID_FILE")
if file then for line in io.lines(file) do ids[#ids + 1] = line end end
local count = tonumber(os.getenv("BENCH_IDS") or "10000")
local prefix = os.getenv("BENCH_PREFIX") or "/tasks/"
local failures = 0
request = function()
  local id = (#ids > 0) and ids[math.random(#ids)] or tostring(math.random(count))
  return wrk.format("GET", prefix .. id)
end
response = function(status) if status >= 300 then failures = failures + 1 end end
done = function() io.write(string.format("NON2XX %d\n", failures)) end
