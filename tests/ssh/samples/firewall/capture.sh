#!/bin/sh
# How the samples in this directory were captured (Debian 12, nftables 1.0.6, iptables 1.8.9
# legacy), each ruleset loaded alone in a throw-away network namespace:
#   NFT=/path/to/nft IPT=/path/to/xtables-legacy-multi sh capture.sh
# Not run by the tests: the tests read the captured outputs.
set -e
nft_case() {  # name, ruleset text
  printf '%s\n' "$2" | sed 's/; /;\n/g; s/ }/\n}/g; s/}; /}\n/g' > "/tmp/aslcheck-fw-$1.nft"
  unshare -n sh -c "$NFT -f /tmp/aslcheck-fw-$1.nft && $NFT -j list ruleset" > "nft_$1.json"
  rm -f "/tmp/aslcheck-fw-$1.nft"
}
ipt_case() {  # name, family (iptables|ip6tables), rules...
  name=$1; fam=$2; shift 2
  script="set -e"
  for rule in "$@"; do script="$script; $IPT $fam $rule"; done
  unshare -n sh -c "$script; $IPT $fam-save" | grep -v '^#' > "${fam}_$name.txt"
}
IN='type filter hook input priority 0; policy drop;'
OUT='type filter hook output priority 0; policy drop;'
nft_case good "table inet f { chain input { $IN iif \"lo\" accept; ct state established,related accept; tcp dport 22 accept; ip saddr 10.0.0.0/8 tcp dport 443 accept; icmp type echo-request accept; } }"
nft_case saddr_any "table inet f { chain input { $IN iif \"lo\" accept; ip saddr 0.0.0.0/0 accept; ip6 saddr ::/0 accept; } }"
nft_case l4proto_tcp_udp "table inet f { chain input { $IN meta l4proto { tcp, udp } accept; } }"
nft_case dport_not_22 "table inet f { chain input { $IN tcp dport != 22 accept; } }"
nft_case dport_every_port "table inet f { chain input { $IN tcp dport 1-65535 accept; } }"
nft_case named_set_any "table inet f { set trusted { type ipv4_addr; flags interval; elements = { 0.0.0.0/0 } }; chain input { $IN ip saddr @trusted accept; } }"
nft_case two_halves "table inet f { chain input { $IN ip saddr { 0.0.0.0/1, 128.0.0.0/1 } accept; } }"
nft_case jump_accept_all "table inet f { chain allow { tcp dport 443 accept; accept; }; chain input { $IN iif \"lo\" accept; jump allow; } }"
nft_case jump_narrow "table inet f { chain ssh_in { tcp dport 22 accept; }; chain input { $IN ct state established,related accept; jump ssh_in; } }"
nft_case ct_state_new "table inet f { chain input { $IN ct state new accept; } }"
nft_case sport_53 "table inet f { chain input { $IN udp sport 53 accept; } }"
nft_case daddr_self "table inet f { chain input { $IN ip daddr 192.0.2.10 accept; } }"
nft_case iifname_eth0 "table inet f { chain input { $IN iifname \"eth0\" accept; } }"
nft_case meta_mark "table inet f { chain input { $IN meta mark 0x00000001 accept; } }"
nft_case vmap "table inet f { chain input { $IN tcp dport vmap { 22 : accept, 80 : drop }; } }"
nft_case drop_first "table inet f { chain input { $IN drop; accept; } }"
nft_case dormant_table "table inet f { flags dormant; chain input { $IN tcp dport 22 accept; } }"
nft_case output_daddr "table inet f { chain output { $OUT oif \"lo\" accept; ct state established,related accept; ip daddr 10.0.0.0/8 accept; ip6 daddr fd00::/8 accept; } }"
nft_case output_dport_443 "table inet f { chain output { $OUT tcp dport 443 accept; } }"
nft_case output_daddr_any "table inet f { chain output { $OUT ip daddr 0.0.0.0/0 accept; } }"
ipt_case good iptables "-P INPUT DROP" "-A INPUT -i lo -j ACCEPT" "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT" "-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT"
ipt_case good ip6tables "-P INPUT DROP" "-A INPUT -i lo -j ACCEPT" "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
ipt_case source_any iptables "-P INPUT DROP" "-A INPUT -s 0.0.0.0/0 -j ACCEPT"
ipt_case proto_tcp iptables "-P INPUT DROP" "-A INPUT -p tcp -j ACCEPT"
ipt_case dport_not_22 iptables "-P INPUT DROP" "-A INPUT -p tcp -m tcp ! --dport 22 -j ACCEPT"
ipt_case dport_every_port iptables "-P INPUT DROP" "-A INPUT -p tcp -m multiport --dports 1:65535 -j ACCEPT"
ipt_case state_new iptables "-P INPUT DROP" "-A INPUT -m state --state NEW -j ACCEPT"
ipt_case comment_disguise iptables "-P INPUT DROP" "-A INPUT -m comment --comment '-j DROP' -j ACCEPT"
ipt_case jump_accept_all iptables "-P INPUT DROP" "-N allow" "-A allow -j ACCEPT" "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT" "-A INPUT -j allow"
ipt_case iface_eth0 iptables "-P INPUT DROP" "-A INPUT -i eth0 -j ACCEPT"
ipt_case mark iptables "-P INPUT DROP" "-A INPUT -m mark --mark 0x1 -j ACCEPT"
ipt_case log_then_drop iptables "-P INPUT DROP" "-A INPUT -j LOG --log-prefix 'in: '" "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
