-- PATCH a random existing item (ids as in get-id.lua) with a new priority.
local ids = {}
local file = os.getenv("BENCH_ID_FILE")
if file then for line in io.lines(file) do ids[#ids + 1] = line end end
local count = tonumber(os.getenv("BENCH_IDS") or "10000")
local prefix = os.getenv("BENCH_PREFIX") or "/tasks/"
local contentType = os.getenv("BENCH_PATCH_TYPE") or "application/merge-patch+json"
local failures = 0
request = function()
  local id = (#ids > 0) and ids[math.random(#ids)] or tostring(math.random(count))
  local body = string.format('{"priority":%d}', math.random(5))
  return wrk.format("PATCH", prefix .. id, { ["Content-Type"] = contentType }, body)
end
response = function(status) if status >= 300 then failures = failures + 1 end end
done = function() io.write(string.format("NON2XX %d\n", failures)) end
