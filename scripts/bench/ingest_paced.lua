-- ingest.lua at a fixed total rate: RATE requests/s spread over CONNECTIONS connections
-- (wrk has no rate flag; delay() spaces each connection's requests).
dofile(os.getenv("INGEST_LUA") or "scripts/bench/ingest.lua")
local rate = tonumber(os.getenv("RATE") or "100")
local connections = tonumber(os.getenv("CONNECTIONS") or "4")
function delay()
  return math.floor(connections * 1000 / rate)
end
