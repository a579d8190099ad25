-- wrk script: GET PATH_TO_GET (env) with the bench key; back to back, or at RATE requests/s
-- over CONNECTIONS connections when RATE is set (wrk has no rate flag; delay() spaces them).
local auth = os.getenv("AUTH") or "cGstbGYtYmVuY2g6c2stbGYtYmVuY2g="
local rate = tonumber(os.getenv("RATE") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "1")
wrk.method = "GET"
wrk.path = os.getenv("PATH_TO_GET") or "/api/public/health"
wrk.headers["Authorization"] = "Basic " .. auth
if rate > 0 then
  function delay()
    return math.floor(connections * 1000 / rate)
  end
end
