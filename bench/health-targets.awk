# The real servers of the health benches, as an lvsync file (Y) and a keepalived.conf (C):
# NAT services of 8 real servers each, R real servers in all, every one probed on port 8080
# with a K ("tcp", "http", or "http-keep": http with `keep_alive: true`) check every 2 s. The
# keepalived.conf of http-keep is http's: keepalived opens a connection per probe. Used by
# health-bench.sh and health-ab.sh.
# Usage: awk -v R=REALS -v K=tcp|http|http-keep -v Y=FILE.yaml -v C=FILE.conf -f bench/health-targets.awk
BEGIN {
    print "version: 1\nservices:" > Y
    print "global_defs {\n  router_id bench\n}" > C
    S = int((R + 7) / 8)
    for (i = 0; i < S; i++) {
        vip = sprintf("10.3.%d.%d", int(i / 250), i % 250 + 1)
        printf "  - name: s%d\n    vip: %s\n    port: 80\n    forward: nat\n", i, vip > Y
        if (K == "tcp") print "    health: {check: tcp, port: 8080, interval: 2, timeout: 1}" > Y
        else if (K == "http") print "    health: {check: http, port: 8080, interval: 2, timeout: 1, http: {path: /, status: 200}}" > Y
        else print "    health: {check: http, port: 8080, interval: 2, timeout: 1, http: {path: /, status: 200, keep_alive: true}}" > Y
        print "    real_servers:" > Y
        printf "virtual_server %s 80 {\n  delay_loop 2\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n", vip > C
        for (j = 0; j < 8 && i * 8 + j < R; j++) {
            n = i * 8 + j
            addr = sprintf("10.1.%d.%d", int(n / 250), n % 250 + 1)
            printf "      - {address: %s}\n", addr > Y
            printf "  real_server %s 80 {\n    weight 1\n", addr > C
            if (K == "tcp") print "    TCP_CHECK {\n      connect_port 8080\n      connect_timeout 1\n    }" > C
            else print "    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_port 8080\n      connect_timeout 1\n    }" > C
            print "  }" > C
        }
        print "}" > C
    }
}
