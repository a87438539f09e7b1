#define _GNU_SOURCE
#include "CLinuxShims.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

int lsr_enter_namespace(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

int lsr_udp_socket(uint16_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on);
    int off = 0;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off);
    int tos = 0xC0; // RFC 5036 §2.4: network control precedence.
    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_ANY)}};
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int lsr_multicast_membership(int fd, uint32_t group, int ifindex, int join) {
    struct ip_mreqn request = {.imr_multiaddr = {htonl(group)}, .imr_address = {0}, .imr_ifindex = ifindex};
    return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &request, sizeof request);
}

ssize_t lsr_recv_datagram(int fd, uint8_t *buffer, size_t capacity, uint32_t *source, uint16_t *sourcePort,
                          uint32_t *destination, int *ifindex, int *ttl) {
    struct sockaddr_in from;
    struct iovec vector = {.iov_base = buffer, .iov_len = capacity};
    char control[256];
    struct msghdr message = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &vector, .msg_iovlen = 1,
                             .msg_control = control, .msg_controllen = sizeof control};
    ssize_t length = recvmsg(fd, &message, 0);
    if (length < 0) return -1;
    *source = ntohl(from.sin_addr.s_addr);
    *sourcePort = ntohs(from.sin_port);
    *destination = 0;
    *ifindex = 0;
    *ttl = -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != IPPROTO_IP) continue;
        if (header->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(header), sizeof info);
            *destination = ntohl(info.ipi_addr.s_addr);
            *ifindex = info.ipi_ifindex;
        } else if (header->cmsg_type == IP_TTL) {
            int value;
            memcpy(&value, CMSG_DATA(header), sizeof value);
            *ttl = value;
        }
    }
    return length;
}

ssize_t lsr_send_datagram(int fd, const uint8_t *buffer, size_t length, uint32_t destination, uint16_t port,
                          uint32_t source, int ifindex, int ttl) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(destination)}};
    struct iovec vector = {.iov_base = (void *)buffer, .iov_len = length};
    char control[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct msghdr message = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &vector, .msg_iovlen = 1,
                             .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo info = {.ipi_ifindex = ifindex, .ipi_spec_dst = {htonl(source)}};
    memcpy(CMSG_DATA(header), &info, sizeof info);
    // For multicast the TTL is a socket option; IP_TTL as a control message covers unicast.
    int multicast = (destination >> 28) == 0xE;
    if (multicast) {
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        message.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
    } else {
        header = CMSG_NXTHDR(&message, header);
        header->cmsg_level = IPPROTO_IP;
        header->cmsg_type = IP_TTL;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &ttl, sizeof ttl);
    }
    return sendmsg(fd, &message, 0);
}

int lsr_set_tcp_md5(int fd, uint32_t address, const char *key, int keyLength) {
    struct tcp_md5sig signature;
    memset(&signature, 0, sizeof signature);
    struct sockaddr_in *peer = (struct sockaddr_in *)&signature.tcpm_addr;
    peer->sin_family = AF_INET;
    peer->sin_addr.s_addr = htonl(address);
    if (keyLength < 0 || keyLength > TCP_MD5SIG_MAXKEYLEN) {
        errno = EINVAL;
        return -1;
    }
    signature.tcpm_keylen = (uint16_t)keyLength;
    memcpy(signature.tcpm_key, key, (size_t)keyLength);
    return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &signature, sizeof signature);
}

int lsr_set_gtsm(int fd, int enable) {
    int ttl = enable ? 255 : 64;
    int minimum = enable ? 255 : 0;
    if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0) return -1;
    return setsockopt(fd, IPPROTO_IP, IP_MINTTL, &minimum, sizeof minimum);
}

struct tcp_md5sig lsr_make_md5sig(uint32_t address, const char *key, int keyLength) {
    struct tcp_md5sig signature;
    memset(&signature, 0, sizeof signature);
    struct sockaddr_in *peer = (struct sockaddr_in *)&signature.tcpm_addr;
    peer->sin_family = AF_INET;
    peer->sin_addr.s_addr = htonl(address);
    if (keyLength < 0) keyLength = 0;
    if (keyLength > TCP_MD5SIG_MAXKEYLEN) keyLength = TCP_MD5SIG_MAXKEYLEN;
    signature.tcpm_keylen = (uint16_t)keyLength;
    if (keyLength) memcpy(signature.tcpm_key, key, (size_t)keyLength);
    return signature;
}

int lsr_tcp_md5sig_option(void) { return TCP_MD5SIG; }
int lsr_ip_minttl_option(void) { return IP_MINTTL; }

size_t lsr_heap_in_use(void) { return mallinfo2().uordblks; }

// MARK: AF_PACKET TPACKET_V2 ring (the userspace MPLS dataplane)

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

// V2, not V3: V2 hands each frame to user space as soon as it is written (a V3 block waits for
// its timeout at low rates: 1 ms of latency), and its fixed-size slots let the forwarder
// rewrite a frame in place, headroom and tailroom included, and transmit it from there.
struct lsr_ring {
    int fd;
    int ifindex;
    uint8_t *map;
    size_t mapSize;
    unsigned frameSize;
    unsigned frameCount;
    unsigned head;          // the next slot to look at
    unsigned held;          // slots handed out and not yet given back (just before head)
    uint8_t *txMap;         // the transmit ring, after the receive ring in the same mapping
    unsigned txFrameSize;
    unsigned txFrameCount;
    unsigned txHead;        // the next transmit slot to fill
    int outgoingOnly;       // a TUN device's ring: only what the kernel sends into the device
    int ingressLink;        // an ingress ring's tcx link (the kernel's drop of what it takes), or -1
    uint64_t truncated;     // frames longer than a slot, skipped
    uint64_t overflows;     // frames the kernel dropped for want of a free slot (PACKET_STATISTICS)
};

// What the forwarder may use of a slot: everything after the tpacket2 header.
#define LSR_SLOT_OFFSET TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
// Room kept in front of each received frame for pushed labels and rebuilt headers.
#define LSR_RING_RESERVE 128

// A tpacket_req for `frameCount` frames of `frameSize` in blocks of at least 64 KiB, a whole
// number of pages and of frames (rounded up).
static struct tpacket_req lsr_ring_request(unsigned frameSize, unsigned frameCount) {
    frameSize = TPACKET_ALIGN(frameSize);
    unsigned framesPerBlock = (65536 + frameSize - 1) / frameSize;
    unsigned blockSize = (framesPerBlock * frameSize + 4095) & ~4095u;
    framesPerBlock = blockSize / frameSize;
    unsigned blockCount = (frameCount + framesPerBlock - 1) / framesPerBlock;
    struct tpacket_req request = {
        .tp_block_size = blockSize, .tp_block_nr = blockCount, .tp_frame_size = frameSize,
        .tp_frame_nr = blockCount * framesPerBlock,
    };
    return request;
}

// The socket, its rings and its mapping, bound to `protocol` on `ifindex` once the rings are in
// place (so no frame of another interface leaks in). A socket without a receive ring binds
// protocol 0 and receives nothing.
static struct lsr_ring *lsr_ring_create(int ifindex, unsigned frameSize, unsigned frameCount, unsigned transmitFrameCount,
                                        uint16_t protocol, int ignoreOutgoing, const struct sock_fprog *filter) {
    struct lsr_ring *ring = calloc(1, sizeof *ring);
    if (!ring) return NULL;
    ring->ingressLink = -1;
    ring->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (ring->fd < 0) { free(ring); return NULL; }
    ring->ifindex = ifindex;
    int version = TPACKET_V2, one = 1, reserve = LSR_RING_RESERVE;
    if (setsockopt(ring->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) goto fail;
    size_t receiveSize = 0;
    if (frameCount > 0) {
        struct tpacket_req request = lsr_ring_request(frameSize, frameCount);
        if (setsockopt(ring->fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) < 0) goto fail;
        if (setsockopt(ring->fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) < 0) goto fail;
        if (ignoreOutgoing && setsockopt(ring->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) goto fail;
        if (filter && setsockopt(ring->fd, SOL_SOCKET, SO_ATTACH_FILTER, filter, sizeof *filter) < 0) goto fail;
        receiveSize = (size_t)request.tp_block_size * request.tp_block_nr;
        ring->frameSize = request.tp_frame_size;
        ring->frameCount = request.tp_frame_nr;
    }
    size_t transmitSize = 0;
    if (transmitFrameCount > 0) {
        // The kernel sends straight from these slots: one sendto per batch, no copy of the
        // message headers, the frame data attached to the packet without another copy.
        struct tpacket_req request = lsr_ring_request(frameSize, transmitFrameCount);
        if (setsockopt(ring->fd, SOL_PACKET, PACKET_TX_RING, &request, sizeof request) < 0) goto fail;
        transmitSize = (size_t)request.tp_block_size * request.tp_block_nr;
        ring->txFrameSize = request.tp_frame_size;
        ring->txFrameCount = request.tp_frame_nr;
    }
    ring->mapSize = receiveSize + transmitSize;
    if (ring->mapSize > 0) {
        ring->map = mmap(NULL, ring->mapSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, ring->fd, 0);
        if (ring->map == MAP_FAILED) {
            ring->map = mmap(NULL, ring->mapSize, PROT_READ | PROT_WRITE, MAP_SHARED, ring->fd, 0);
            if (ring->map == MAP_FAILED) { ring->map = NULL; goto fail; }
        }
        // The kernel maps the receive ring first, the transmit ring after it.
        if (transmitSize) ring->txMap = ring->map + receiveSize;
    }
    struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_protocol = frameCount ? htons(protocol) : 0,
                                   .sll_ifindex = ifindex };
    if (bind(ring->fd, (struct sockaddr *)&address, sizeof address) < 0) goto fail;
    return ring;
fail:;
    int saved = errno;
    lsr_ring_close(ring);
    errno = saved;
    return NULL;
}

struct lsr_ring *lsr_ring_open(int ifindex, unsigned frameSize, unsigned frameCount, unsigned transmitFrameCount) {
    // An own transmission must not come back as input.
    return lsr_ring_create(ifindex, frameSize, frameCount, transmitFrameCount, ETH_P_MPLS_UC, 1, NULL);
}

int lsr_ring_fd(const struct lsr_ring *ring) { return ring->fd; }

struct lsr_ring *lsr_tun_ring_open(int tunFd, int ifindex, unsigned frameSize, unsigned frameCount) {
    // Outgoing packets reach only ETH_P_ALL taps.
    struct lsr_ring *ring = lsr_ring_create(ifindex, frameSize, frameCount, 0, ETH_P_ALL, 0, NULL);
    if (!ring) return NULL;
    ring->outgoingOnly = 1;
    // The ring has every packet now: the TUN queue would only fill up. An eBPF filter that
    // takes nothing makes the kernel drop them there at once (TUNATTACHFILTER is for TAPs only).
    struct bpf_insn nothing[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
        { .code = BPF_JMP | BPF_EXIT },
    };
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attributes.insns = (uint64_t)(uintptr_t)nothing;
    attributes.insn_cnt = 2;
    attributes.license = (uint64_t)(uintptr_t)"GPL";
    int program = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attributes, sizeof attributes);
    int attached = program < 0 ? -1 : ioctl(tunFd, TUNSETFILTEREBPF, &program);
    int saved = errno;
    if (program >= 0) close(program);   // the device keeps its own reference
    if (attached < 0) {
        lsr_ring_close(ring);
        errno = saved;
        return NULL;
    }
    return ring;
}

// Not in Debian 12's headers (tcx came with Linux 6.6): enum bpf_attach_type and the tcx verdicts.
#define LSR_BPF_TCX_INGRESS 46
#define LSR_TCX_NEXT (-1)
#define LSR_TCX_DROP 2

// Which frames an ingress ring takes, and the kernel then drops: IPv4 unicast to this host.
// ARP, IPv6 (neighbour discovery), broadcast and multicast stay the kernel's alone.
static int lsr_load_ingress_drop(void) {
    // r2 = skb->pkt_type; if r2 != PACKET_HOST goto next;
    // r2 = skb->protocol; if r2 != htons(ETH_P_IP) goto next; return TCX_DROP; next: return TCX_NEXT
    struct bpf_insn program[] = {
        { .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
          .off = offsetof(struct __sk_buff, pkt_type) },
        { .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 4, .imm = PACKET_HOST },
        { .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
          .off = offsetof(struct __sk_buff, protocol) },
        { .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 2, .imm = htons(ETH_P_IP) },
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = LSR_TCX_DROP },
        { .code = BPF_JMP | BPF_EXIT },
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = LSR_TCX_NEXT },
        { .code = BPF_JMP | BPF_EXIT },
    };
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    attributes.insns = (uint64_t)(uintptr_t)program;
    attributes.insn_cnt = sizeof program / sizeof program[0];
    attributes.license = (uint64_t)(uintptr_t)"GPL";
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attributes, sizeof attributes);
}

struct lsr_ring *lsr_ingress_ring_open(int ifindex, unsigned frameSize, unsigned frameCount, unsigned transmitFrameCount) {
    // The same frames as the tcx program, in classic BPF: the ring holds nothing else.
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFF),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog filter = { .len = sizeof code / sizeof code[0], .filter = code };
    // ETH_P_ALL: taps see a frame before the ingress hook drops it; protocol handlers after.
    struct lsr_ring *ring = lsr_ring_create(ifindex, frameSize, frameCount, transmitFrameCount, ETH_P_ALL, 1, &filter);
    if (!ring) return NULL;
    int program = lsr_load_ingress_drop();
    if (program < 0) goto fail;
    union bpf_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.link_create.prog_fd = (uint32_t)program;
    attributes.link_create.target_ifindex = (uint32_t)ifindex;
    attributes.link_create.attach_type = LSR_BPF_TCX_INGRESS;
    // A link, not a netlink filter: it goes with its descriptor, so when lsrd stops or dies the
    // kernel forwards that traffic again instead of dropping it.
    ring->ingressLink = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &attributes, sizeof attributes);
    int saved = errno;
    close(program);
    if (ring->ingressLink < 0) { errno = saved; goto fail; }
    return ring;
fail:;
    saved = errno;
    lsr_ring_close(ring);
    errno = saved;
    return NULL;
}

static inline struct tpacket2_hdr *lsr_ring_slot(const struct lsr_ring *ring, unsigned index) {
    // Frames never straddle blocks, and blocks hold a whole number of frames: slots are evenly spaced.
    return (struct tpacket2_hdr *)(ring->map + (size_t)index * ring->frameSize);
}

int lsr_ring_next(struct lsr_ring *ring, uint8_t **slot, uint32_t *capacity, uint32_t *start, uint32_t *length) {
    if (ring->frameCount == 0) return 0;
    for (;;) {
        // Never hand out every slot: the kernel needs one to write into.
        if (ring->held + 1 >= ring->frameCount) return 0;
        struct tpacket2_hdr *header = lsr_ring_slot(ring, ring->head);
        if ((__atomic_load_n(&header->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) return 0;
        ring->head = (ring->head + 1) % ring->frameCount;
        ring->held++;
        if (ring->outgoingOnly) {
            const struct sockaddr_ll *link = (const struct sockaddr_ll *)((uint8_t *)header + LSR_SLOT_OFFSET);
            if (link->sll_pkttype != PACKET_OUTGOING) continue;
        }
        if (header->tp_snaplen < header->tp_len) {
            ring->truncated++;
            continue;
        }
        *slot = (uint8_t *)header + LSR_SLOT_OFFSET;
        *capacity = ring->frameSize - LSR_SLOT_OFFSET;
        *start = header->tp_mac - LSR_SLOT_OFFSET;
        *length = header->tp_snaplen;
        return 1;
    }
}

void lsr_ring_release(struct lsr_ring *ring) {
    unsigned index = (ring->head + ring->frameCount - ring->held) % (ring->frameCount ? ring->frameCount : 1);
    for (; ring->held > 0; ring->held--) {
        __atomic_store_n(&lsr_ring_slot(ring, index)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        index = (index + 1) % ring->frameCount;
    }
}

// Data starts this far into a transmit slot (TPACKET_V2 without PACKET_TX_HAS_OFF).
#define LSR_TX_DATA_OFFSET (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

static inline struct tpacket2_hdr *lsr_ring_tx_slot(const struct lsr_ring *ring, unsigned index) {
    return (struct tpacket2_hdr *)(ring->txMap + (size_t)index * ring->txFrameSize);
}

// Kicks the kernel to send every slot marked for sending. Never waits.
static void lsr_ring_kick(struct lsr_ring *ring) {
    (void)!sendto(ring->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}

static int lsr_ring_send_through_ring(struct lsr_ring *ring, uint8_t *const *frames, const uint32_t *lengths, unsigned count) {
    unsigned queued = 0;
    int kicked = 0;
    for (unsigned index = 0; index < count; index++) {
        if (lengths[index] > ring->txFrameSize - LSR_TX_DATA_OFFSET) continue;
        struct tpacket2_hdr *slot = lsr_ring_tx_slot(ring, ring->txHead);
        uint32_t status = __atomic_load_n(&slot->tp_status, __ATOMIC_ACQUIRE);
        if (status != TP_STATUS_AVAILABLE && !(status & TP_STATUS_WRONG_FORMAT)) {
            // The ring is full of frames the kernel has not finished with: push them, once.
            if (kicked) break;
            lsr_ring_kick(ring);
            kicked = 1;
            status = __atomic_load_n(&slot->tp_status, __ATOMIC_ACQUIRE);
            if (status != TP_STATUS_AVAILABLE && !(status & TP_STATUS_WRONG_FORMAT)) break;
        }
        memcpy((uint8_t *)slot + LSR_TX_DATA_OFFSET, frames[index], lengths[index]);
        slot->tp_len = lengths[index];
        __atomic_store_n(&slot->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        ring->txHead = (ring->txHead + 1) % ring->txFrameCount;
        queued++;
    }
    if (queued) lsr_ring_kick(ring);
    return (int)queued;
}

int lsr_ring_send_batch(struct lsr_ring *ring, uint8_t *const *frames, const uint32_t *lengths, unsigned count) {
    if (ring->txMap) return lsr_ring_send_through_ring(ring, frames, lengths, count);
    if (count > LSR_RING_BATCH) count = LSR_RING_BATCH;
    struct mmsghdr messages[LSR_RING_BATCH];
    struct iovec vectors[LSR_RING_BATCH];
    struct sockaddr_ll address = { .sll_family = AF_PACKET, .sll_ifindex = ring->ifindex };
    for (unsigned index = 0; index < count; index++) {
        vectors[index].iov_base = frames[index];
        vectors[index].iov_len = lengths[index];
        memset(&messages[index], 0, sizeof messages[index]);
        messages[index].msg_hdr.msg_name = &address;
        messages[index].msg_hdr.msg_namelen = sizeof address;
        messages[index].msg_hdr.msg_iov = &vectors[index];
        messages[index].msg_hdr.msg_iovlen = 1;
    }
    unsigned sent = 0;
    while (sent < count) {
        int result = sendmmsg(ring->fd, messages + sent, count - sent, MSG_DONTWAIT);
        if (result <= 0) {
            // A frame the device refuses (too big, queue full): skip it, send the rest.
            if (result < 0 && (errno == EAGAIN || errno == ENOBUFS)) break;
            sent++;
            continue;
        }
        sent += (unsigned)result;
    }
    return (int)sent;
}

uint64_t lsr_ring_truncated(const struct lsr_ring *ring) { return ring->truncated; }

uint64_t lsr_ring_overflows(struct lsr_ring *ring) {
    // Reading the statistics resets them in the kernel: keep the running total here.
    struct tpacket_stats stats;
    socklen_t length = sizeof stats;
    if (ring->frameCount && getsockopt(ring->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) {
        ring->overflows += stats.tp_drops;
    }
    return ring->overflows;
}

void lsr_ring_close(struct lsr_ring *ring) {
    if (!ring) return;
    // First the kernel's drop goes, then the ring that took those frames.
    if (ring->ingressLink >= 0) close(ring->ingressLink);
    if (ring->map) munmap(ring->map, ring->mapSize);
    close(ring->fd);
    free(ring);
}

int lsr_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

int lsr_tun_open(const char *name, int *ifindex) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &request) < 0) goto fail;
    // The forwarder takes IPv4 only: keep the kernel's IPv6 autoconfiguration chatter (router
    // solicitations, MLD) out of the device before it comes up. Best effort (IPv6 may be off).
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", request.ifr_name);
    int sysctl = open(path, O_WRONLY | O_CLOEXEC);
    if (sysctl >= 0) {
        (void)!write(sysctl, "1", 1);
        close(sysctl);
    }
    int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (control < 0) goto fail;
    if (ioctl(control, SIOCGIFFLAGS, &request) < 0) { close(control); goto fail; }
    request.ifr_flags |= IFF_UP;
    if (ioctl(control, SIOCSIFFLAGS, &request) < 0) { close(control); goto fail; }
    close(control);
    *ifindex = (int)if_nametoindex(request.ifr_name);
    if (*ifindex == 0) goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

#include <pthread.h>

int lsr_name_thread(const char *name) { return pthread_setname_np(pthread_self(), name); }
int lsr_msg_dontwait(void) { return MSG_DONTWAIT; }
