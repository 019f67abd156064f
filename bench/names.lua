-- wrk: each request asks for the token of a random artifact of NAMES_FILE.
local names = {}
local token = os.getenv("API_TOKEN")
for line in io.lines(os.getenv("NAMES_FILE")) do names[#names + 1] = line end
math.randomseed(os.time())
request = function()
  local name = names[math.random(#names)]
  return wrk.format("GET", "/api/v1/security-material/" .. name .. "/access-token",
                    {["Authorization"] = "Bearer " .. token})
end
