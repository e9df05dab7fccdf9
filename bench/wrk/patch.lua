-- PATCH a random existing task with a new priority. Content type: BENCH_PATCH_TYPE, else
-- application/merge-patch+json (Feedbase); PocketBase takes application/json.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local content_type = os.getenv("BENCH_PATCH_TYPE") or "application/merge-patch+json"

request = function()
  local body = string.format('{"priority":%d}', math.random(5))
  -- Headers given here replace wrk.headers: the credentials go in again.
  return wrk.format("PATCH", id_prefix .. random_id(), { ["Content-Type"] = content_type, ["Authorization"] = authorization }, body)
end
