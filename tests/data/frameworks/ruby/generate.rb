# Writes Rack/Rails sessions through redis-rack (Rack::Session::Redis),
# redis-actionpack (ActionDispatch::Session::RedisStore) and Rails' cache-store
# sessions on ActiveSupport::Cache::RedisCacheStore, each through its middleware's
# real request cycle (rack-test), against the redis-server on REDIS_PORT. Prints
# one JSON line per session: the key, the cookie, and what the framework itself
# reads back (in the inspector's typed JSON). Run by ../capture.py; see ../README.md.
require "json"
require "set"
require "bigdecimal"
require "date"
require "digest"
require "rack"
require "rack/test"
require "rack/session/redis"
require "action_dispatch"
require "action_dispatch/middleware/session/redis_store"
require "action_dispatch/middleware/session/cache_store"
require "active_support"
require "active_support/time"
require "active_support/cache/redis_cache_store"

PORT = ENV.fetch("REDIS_PORT")
Time.zone = "Europe/Paris"

class Preference
  def initialize
    @theme = "dark"
    @languages = ["en", "fr"]
  end
end

def attributes
  {
    "user_id" => 42,
    "warden.user.user.key" => [[42], "$2a$12$abcdefghijklmnopqrstuv"],
    "greeting" => "ünï 😀 日本",
    "server" => { "hostname" => "ruby-web-1" },
    "ratio" => 0.25,
    "flags" => [true, false, nil],
    "role" => :admin,
    "big" => 2**70,
    "last_login" => Time.utc(2024, 5, 1, 10, 0, Rational(123, 1000)),
    "zoned" => Time.zone.local(2024, 5, 1, 12, 0, 0),
    "birthday" => Date.new(1990, 7, 14),
    "balance" => BigDecimal("10.50"),
    "tags" => Set["a", "b"],
    "preference" => Preference.new,
    "raw" => "\xff\x00\x01".b,
  }
end

def typed(v)
  case v
  when Hash then v.each_with_object({}) { |(k, x), o| o[k.is_a?(Symbol) ? ":#{k}" : k.to_s] = typed(x) }
  when Array then v.map { |x| typed(x) }
  when Set then { "@class" => "Set", "@items" => v.to_a.map { |x| typed(x) } }
  when Symbol then { "@class" => "Symbol", "@value" => v.to_s }
  when Integer then v.bit_length < 63 ? v : { "@class" => "Integer", "@value" => v.to_s }
  when ActiveSupport::TimeWithZone then { "@class" => "ActiveSupport::TimeWithZone", "@epochMillis" => (v.to_r * 1000).floor }
  when Time then { "@class" => "Time", "@epochMillis" => (v.to_r * 1000).floor }
  when Date then { "@class" => "Date", "@value" => v.iso8601 }
  when BigDecimal then { "@class" => "BigDecimal", "@value" => v.to_s("F") }
  when String
    if v.encoding == Encoding::BINARY && !v.ascii_only?
      { "@class" => "String", "@hex" => v.unpack1("H*") }
    else
      v
    end
  when TrueClass, FalseClass, NilClass, Float then v
  else
    v.instance_variables.each_with_object({ "@class" => v.class.name }) do |name, o|
      o[name.to_s.delete_prefix("@")] = typed(v.instance_variable_get(name))
    end
  end
end

APP = lambda do |env|
  session = env["rack.session"]
  if env["PATH_INFO"] == "/login"
    attributes.each { |k, v| session[k] = v }
    [200, { "Content-Type" => "text/plain" }, ["ok"]]
  else
    [200, { "Content-Type" => "application/json" }, [JSON.generate(typed(session.to_hash))]]
  end
end

class Client
  include Rack::Test::Methods
  def initialize(app) = @app = app
  attr_reader :app
end

def run(name, framework, cookie_name, key_of, &build)
  client = Client.new(build.call)
  client.get("/login")
  cookie = client.last_response.headers["Set-Cookie"].split(";").first
  public_id = cookie.split("=", 2).last
  client.get("/read")
  read = JSON.parse(client.last_response.body)
  private_id = "2::" + Digest::SHA256.hexdigest(public_id)
  puts JSON.generate({ "name" => name, "framework" => framework, "key" => key_of.call(private_id),
                       "sessionId" => private_id, "publicId" => public_id, "cookie" => cookie, "readBack" => read })
end

run("redis_rack", "redis-rack", "rack.session", ->(id) { "rack:session:#{id}" }) do
  Rack::Builder.new do
    use Rack::Session::Redis, redis_server: "redis://127.0.0.1:#{PORT}/0/rack:session", expire_after: 3600
    run APP
  end
end

def rails_env(app)
  lambda do |env|
    env["action_dispatch.secret_key_base"] = "x" * 64
    env["action_dispatch.cookies_serializer"] = :json
    app.call(env)
  end
end

run("redis_actionpack", "redis-actionpack", "_session_id", ->(id) { "session:#{id}" }) do
  inner = Rack::Builder.new do
    use ActionDispatch::Cookies
    use ActionDispatch::Session::RedisStore, servers: ["redis://127.0.0.1:#{PORT}/0/session"], expire_after: 7200, key: "_session_id"
    run APP
  end
  rails_env(inner)
end

run("rails_cache_store", "rails-cache", "_session_id", ->(id) { "_session_id:#{id}" }) do
  cache = ActiveSupport::Cache::RedisCacheStore.new(url: "redis://127.0.0.1:#{PORT}/0")
  inner = Rack::Builder.new do
    use ActionDispatch::Cookies
    use ActionDispatch::Session::CacheStore, cache: cache, expire_after: 1800, key: "_session_id"
    run APP
  end
  rails_env(inner)
end
