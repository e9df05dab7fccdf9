-- GET one item by a random id (see common.lua for where ids come from).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

request = function()
  return wrk.format("GET", id_prefix .. random_id())
end
