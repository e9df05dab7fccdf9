-- Shared by the bench scripts (each loads it with dofile): random ids with a seed per thread,
-- and a count of non-2xx answers printed by done() as "NON2XX <n>", which bench/run.sh reads.
--
-- wrk runs setup() and done() in the main Lua state but request()/response() in one Lua state per
-- thread, so a counter kept by response() must be a global of the thread's state, summed in
-- done() through thread:get(). (A local upvalue would always print 0 there.)

non2xx = 0
local threads = {}

-- BENCH_AUTHORIZATION: an Authorization header value sent with every request (a JWT).
authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization == "" then authorization = nil end
if authorization then wrk.headers["Authorization"] = authorization end

-- BENCH_NODES: "host:port,host:port,...": thread i sends to node (i - 1) % n + 1, so one wrk
-- spreads its connections evenly over several Feedbase nodes (bench/pg.sh). Looked up in
-- setup(), which runs in the main Lua state.
local nodes = nil

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
  if nodes == nil then
    nodes = {}
    for entry in string.gmatch(os.getenv("BENCH_NODES") or "", "[^,]+") do
      local host, port = entry:match("^(.*):(%d+)$")
      nodes[#nodes + 1] = wrk.lookup(host, port)[1]
    end
  end
  if #nodes > 0 then thread.addr = nodes[(#threads - 1) % #nodes + 1] end
end

function init(args)
  -- Without this every thread draws the same sequence of ids.
  math.randomseed(os.time() + 7919 * (thread_number or 0))
  for _ = 1, 10 do math.random() end
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("non2xx") or 0) end
  io.write(string.format("NON2XX %d\n", total))
end

-- Ids: the lines of the file BENCH_ID_FILE (PocketBase's 15-character ids), else 1..BENCH_IDS.
local ids = {}
local id_file = os.getenv("BENCH_ID_FILE")
if id_file and id_file ~= "" then
  for line in io.lines(id_file) do
    if line ~= "" then ids[#ids + 1] = line end
  end
end
local id_count = tonumber(os.getenv("BENCH_IDS") or "10000")

function random_id()
  if #ids > 0 then return ids[math.random(#ids)] end
  return tostring(math.random(id_count))
end

-- The path in front of an id: /tasks/ for Feedbase, /api/collections/tasks/records/ for PocketBase.
id_prefix = os.getenv("BENCH_PREFIX") or "/tasks/"
