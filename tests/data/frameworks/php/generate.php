<?php
// Writes PHP sessions through phpredis's session handler (every serialize_handler
// this PHP has) and through Symfony's RedisSessionHandler, by real HTTP requests
// to `php -S` on loopback; prints one JSON line per session: the key, the cookie
// and what PHP itself reads back (in the inspector's typed JSON). Run by
// ../capture.py with REDIS_PORT set; see ../README.md.

class Account {
    public $name = "alice";
    protected $role = "admin";
    private $token = "t0k3n";
    public $tags = ["a", "b"];
}
enum Plan: string { case Pro = "pro"; }

function typed($v) {
    if (is_array($v)) {
        if (array_is_list($v)) return array_map('typed', $v);
        $o = new stdClass();
        foreach ($v as $k => $x) $o->{(string)$k} = typed($x);
        return $o;
    }
    if ($v instanceof DateTimeInterface) return ["@class" => get_class($v), "@epochMillis" => (int)$v->format("Uv")];
    if ($v instanceof UnitEnum) return ["@class" => get_class($v), "@value" => $v->name];
    if (is_object($v)) {
        $o = ["@class" => get_class($v)];
        foreach ((array)$v as $k => $x) {
            $parts = explode("\0", (string)$k);
            $name = count($parts) === 3 ? ($parts[1] === "*" ? "*" . $parts[2] : $parts[1] . "::" . $parts[2]) : (string)$k;
            $o[$name] = typed($x);
        }
        return $o;
    }
    if (is_string($v) && !mb_check_encoding($v, "UTF-8")) return ["@class" => "string", "@hex" => bin2hex($v)];
    return $v;
}

function attributes(string $handler = "php"): array {
    $shared = ["a" => 1, "b" => true];
    $data = [
        "user_id" => 42,
        "username" => "alice",
        "greeting" => "ünï 😀 日本",
        "host" => "php-web-1",
        "ratio" => 0.25,
        "flags" => [true, false, null],
        "cart" => $shared,
        "account" => new Account(),
        "plan" => Plan::Pro,
        "lastLogin" => new DateTimeImmutable("2024-05-01 10:00:00.123", new DateTimeZone("Europe/Paris")),
        "raw" => "\xff\x00\x01",
        "sparse" => [5 => "five", 9 => "nine"],
    ];
    // php-msgpack 2.2 writes enums but cannot read them back ("Cannot instantiate enum").
    if ($handler === "msgpack") unset($data["plan"]);
    $data["cart_again"] = &$data["cart"];
    return $data;
}

$port = getenv("REDIS_PORT");
if (PHP_SAPI === "cli-server") {
    $path = parse_url($_SERVER["REQUEST_URI"], PHP_URL_PATH);
    $handler = $_GET["handler"] ?? "php";
    if (str_starts_with($path, "/symfony/")) {
        require_once "/usr/share/php/Symfony/Component/HttpFoundation/autoload.php";
        $redis = new Redis();
        $redis->connect("127.0.0.1", (int)$port);
        $storage = new Symfony\Component\HttpFoundation\Session\Storage\NativeSessionStorage(
            [], new Symfony\Component\HttpFoundation\Session\Storage\Handler\RedisSessionHandler($redis));
        $session = new Symfony\Component\HttpFoundation\Session\Session($storage);
        $session->start();
        if ($path === "/symfony/login") {
            foreach (attributes() as $k => $v) if ($k !== "cart_again") $session->set($k, $v);
            $session->getFlashBag()->add("notice", "Welcome back");
            $session->save();
            echo "ok";
        } else {
            echo json_encode(typed($session->all()));
        }
        return true;
    }
    ini_set("session.save_handler", "redis");
    ini_set("session.save_path", "tcp://127.0.0.1:$port");
    ini_set("session.serialize_handler", $handler);
    session_start();
    if ($path === "/login") {
        foreach (attributes($handler) as $k => $v) $_SESSION[$k] = $v;
        $_SESSION["cart_again"] = &$_SESSION["cart"];
        echo "ok";
    } else {
        echo json_encode(typed($_SESSION));
    }
    return true;
}

// CLI: start `php -S` with this file as the router and drive it.
$web = 18000 + random_int(0, 9000);
$proc = proc_open([PHP_BINARY, "-S", "127.0.0.1:$web", __FILE__], [1 => ["file", "/dev/null", "w"], 2 => ["file", "/dev/null", "w"]], $pipes, null, ["REDIS_PORT" => $port]);
for ($i = 0; $i < 100 && @fsockopen("127.0.0.1", $web) === false; $i++) usleep(50000);

function get(string $url, ?string $cookie = null): array {
    $context = stream_context_create(["http" => ["header" => $cookie ? "Cookie: $cookie\r\n" : ""]]);
    $body = file_get_contents($url, false, $context);
    $set = null;
    foreach ($http_response_header as $line) {
        if (stripos($line, "Set-Cookie: ") === 0) $set = explode(";", substr($line, 12))[0];
    }
    return [$body, $set];
}

$handlers = ["php", "php_serialize", "php_binary"];
foreach (["igbinary", "msgpack"] as $extension) if (extension_loaded($extension)) $handlers[] = $extension;
foreach ($handlers as $handler) {
    [, $cookie] = get("http://127.0.0.1:$web/login?handler=$handler");
    [$read] = get("http://127.0.0.1:$web/read?handler=$handler", $cookie);
    $id = explode("=", $cookie, 2)[1];
    echo json_encode(["name" => "phpredis_$handler", "framework" => "php", "variant" => $handler,
        "key" => "PHPREDIS_SESSION:$id", "sessionId" => $id, "cookie" => $cookie, "readBack" => json_decode($read)]), "\n";
}
[, $cookie] = get("http://127.0.0.1:$web/symfony/login");
[$read] = get("http://127.0.0.1:$web/symfony/read", $cookie);
$id = explode("=", $cookie, 2)[1];
echo json_encode(["name" => "symfony", "framework" => "symfony", "variant" => "php",
    "key" => "sf_s$id", "sessionId" => $id, "cookie" => $cookie, "readBack" => json_decode($read)]), "\n";
proc_terminate($proc);
