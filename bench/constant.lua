local token = os.getenv("API_TOKEN")
request = function()
  return wrk.format("GET", "/bench/constant", {["Authorization"] = "Bearer " .. token})
end
