/* fwgate's shipped YARA rules ([scanner] yara_rules when none is set).
 * Byte patterns that are red flags in a firmware supply chain
 * (download-and-execute, persistence, backdoor access, known tooling).
 *
 * Each match is listed on the node it matched (fwgate scan, events) and,
 * in the local sandbox analyzer, adds its meta `score` (1..1000) to the
 * sample's score. A rule may instead carry `verdict = "suspicious"` or
 * `verdict = "malicious"` (the package is then suspicious, or infected
 * as YARA.<rule>); none of these do: many of these strings also occur in
 * legitimate init scripts and busybox builds, so their scores are modest. */


/* Download and execute */

rule curl_silent : download
{
	meta:
		score = 10
	strings:
		$s = "curl -s"
	condition:
		$s
}

rule wget_quiet : download
{
	meta:
		score = 10
	strings:
		$s = "wget -q"
	condition:
		$s
}

rule pipe_to_sh : download
{
	meta:
		score = 15
	strings:
		$s = "| sh"
	condition:
		$s
}

rule pipe_to_bash : download
{
	meta:
		score = 15
	strings:
		$s = "| bash"
	condition:
		$s
}

rule chmod_exec : download
{
	meta:
		score = 5
	strings:
		$s = "chmod +x"
	condition:
		$s
}

rule chmod_777 : download
{
	meta:
		score = 5
	strings:
		$s = "chmod 777"
	condition:
		$s
}

rule sh_dash_c : download
{
	meta:
		score = 5
	strings:
		$s = "/bin/sh -c"
	condition:
		$s
}

rule tftp_get : download
{
	meta:
		score = 10
	strings:
		$s = "tftp -g"
	condition:
		$s
}

rule base64_decode : download
{
	meta:
		score = 10
	strings:
		$s = "base64 -d"
	condition:
		$s
}

rule powershell_encoded : download
{
	meta:
		score = 25
	strings:
		$s = "powershell -enc"
	condition:
		$s
}

rule powershell_hidden : download
{
	meta:
		score = 15
	strings:
		$s = "-WindowStyle Hidden"
	condition:
		$s
}

rule certutil_download : download
{
	meta:
		score = 20
	strings:
		$s = "certutil -urlcache"
	condition:
		$s
}


/* Reverse shells and backdoors */

rule netcat_exec : backdoor
{
	meta:
		score = 25
	strings:
		$s = "nc -e"
	condition:
		$s
}

rule netcat_exec_long : backdoor
{
	meta:
		score = 25
	strings:
		$s = "ncat -e"
	condition:
		$s
}

rule bash_dev_tcp : backdoor
{
	meta:
		score = 25
	strings:
		$s = "/dev/tcp/"
	condition:
		$s
}

rule bash_interactive : backdoor
{
	meta:
		score = 10
	strings:
		$s = "bash -i"
	condition:
		$s
}

rule telnetd_shell : backdoor
{
	meta:
		score = 15
	strings:
		$s = "telnetd -l /bin/sh"
	condition:
		$s
}

rule mkfifo_pipe : backdoor
{
	meta:
		score = 10
	strings:
		$s = "mkfifo /tmp/"
	condition:
		$s
}


/* Persistence and privilege */

rule ld_preload : persistence
{
	meta:
		score = 15
	strings:
		$s = "LD_PRELOAD"
	condition:
		$s
}

rule ld_so_preload : persistence
{
	meta:
		score = 20
	strings:
		$s = "/etc/ld.so.preload"
	condition:
		$s
}

rule crontab_edit : persistence
{
	meta:
		score = 10
	strings:
		$s = "crontab -"
	condition:
		$s
}

rule cron_spool : persistence
{
	meta:
		score = 10
	strings:
		$s = "/var/spool/cron"
	condition:
		$s
}

rule etc_crontab : persistence
{
	meta:
		score = 10
	strings:
		$s = "/etc/crontab"
	condition:
		$s
}

rule ssh_authorized_keys : persistence
{
	meta:
		score = 15
	strings:
		$s = "authorized_keys"
	condition:
		$s
}

rule passwd_append : persistence
{
	meta:
		score = 15
	strings:
		$s = ">> /etc/passwd"
	condition:
		$s
}

rule shadow_append : persistence
{
	meta:
		score = 20
	strings:
		$s = ">> /etc/shadow"
	condition:
		$s
}

rule history_wipe : persistence
{
	meta:
		score = 10
	strings:
		$s = "unset HISTFILE"
	condition:
		$s
}

rule iptables_flush : persistence
{
	meta:
		score = 10
	strings:
		$s = "iptables -F"
	condition:
		$s
}

rule selinux_off : persistence
{
	meta:
		score = 10
	strings:
		$s = "setenforce 0"
	condition:
		$s
}


/* Known tooling */

rule xmrig_miner : tooling
{
	meta:
		score = 30
	strings:
		$s = "xmrig"
	condition:
		$s
}

rule stratum_pool : tooling
{
	meta:
		score = 25
	strings:
		$s = "stratum+tcp://"
	condition:
		$s
}

rule mirai_busybox_tag : tooling
{
	meta:
		score = 30
	strings:
		$s = "/bin/busybox MIRAI"
	condition:
		$s
}

rule upx_packed : tooling
{
	meta:
		score = 10
	strings:
		$s = "UPX!"
	condition:
		$s
}
