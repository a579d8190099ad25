-- wrk script: GET PATH_TO_GET (env) with the bench key, back to back.
local auth = os.getenv("AUTH") or "cGstbGYtYmVuY2g6c2stbGYtYmVuY2g="
wrk.method = "GET"
wrk.path = os.getenv("PATH_TO_GET") or "/api/public/health"
wrk.headers["Authorization"] = "Basic " .. auth
