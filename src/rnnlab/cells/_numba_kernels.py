"""The Numba kernels behind :mod:`rnnlab.cells._kernels` (imported only when Numba is used).

Formulas: see each cell's module docstring; every kernel is one loop over the batch and the
hidden units that does a whole time step's element-wise work for one direction.
"""
import numba
from numba import float32 as f32

# compiled, vectorisable, cached on disk; error_model='numpy': no ZeroDivisionError branch
jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "arcp"})
inline = numba.njit(inline="always", error_model="numpy", fastmath={"contract", "arcp"})

# |x| above this: tanh(x) rounds to ±1 in float32
CLAMP = f32(7.90531110763549805)


@inline
def tanh(x):
    x = CLAMP if x > CLAMP else x
    x = -CLAMP if x < -CLAMP else x
    x2 = x * x
    p = f32(-2.76076847742355e-16)
    p = p * x2 + f32(2.00018790482477e-13)
    p = p * x2 + f32(-8.60467152213735e-11)
    p = p * x2 + f32(5.12229709037114e-08)
    p = p * x2 + f32(1.48572235717979e-05)
    p = p * x2 + f32(6.37261928875436e-04)
    p = p * x2 + f32(4.89352455891786e-03)
    q = f32(1.19825839466702e-06)
    q = q * x2 + f32(1.18534705686654e-04)
    q = q * x2 + f32(2.26843463243900e-03)
    q = q * x2 + f32(4.89352518554385e-03)
    return x * p / q


@inline
def sigmoid(x):
    return f32(0.5) * tanh(f32(0.5) * x) + f32(0.5)


# How the loops are written (it decides whether LLVM vectorises them): one batch row at a
# time, through 1-D row views; indices run from 0 (so no negative-index wraparound test); each
# inner loop writes one array and reads few (so the runtime aliasing checks stay under LLVM's
# limit). A loop that writes several arrays, or indexes ``a[b, H + j]``, runs scalar: 5x slower.

# -- elementwise tanh (tests) -------------------------------------------------------------------
@jit
def tanh_(a, out):
    af, of = a.reshape(-1), out.reshape(-1)
    for k in range(af.shape[0]):
        of[k] = tanh(af[k])


# -- simple RNN: s = σ(s + xp); δh = δs ∘ σ'(s) -----------------------------------------------
@jit
def rnn_forward(s, xp, act):
    B, H = s.shape
    for b in range(B):
        sb, xb = s[b], xp[b]
        if act == 0:
            for j in range(H):
                sb[j] = tanh(sb[j] + xb[j])
        elif act == 1:
            for j in range(H):
                v = sb[j] + xb[j]
                sb[j] = v if v > 0 else f32(0.0)
        else:
            for j in range(H):
                sb[j] = sigmoid(sb[j] + xb[j])


@jit
def rnn_backward(s, ds, dxp, act):
    B, H = s.shape
    for b in range(B):
        sb, db, out = s[b], ds[b], dxp[b]
        if act == 0:
            for j in range(H):
                out[j] = db[j] * (f32(1.0) - sb[j] * sb[j])
        elif act == 1:
            for j in range(H):
                out[j] = db[j] if sb[j] > 0 else f32(0.0)
        else:
            for j in range(H):
                out[j] = db[j] * sb[j] * (f32(1.0) - sb[j])


# -- LSTM (gate order i, f, g, o) ------------------------------------------------------------
@jit
def lstm_forward(a, xp, c_prev, c_out, tc_out, h_out, scale, shift):
    """a + xp = the pre-activations on entry, a = [i f g o] on exit. In training the LSTM cell
    passes XP[t] = x_t·weight_ihᵀ + b_ih + b_hh as ``a`` (the gates are kept there for backward)
    and its h_{t-1}·weight_hhᵀ scratch as ``xp``; in inference the other way round.

    scale = [½, ½, 1, ½] and shift = [½, ½, 0, ½] per block: σ(a) = ½·tanh(a/2) + ½ and tanh
    in one loop over all 4H columns.
    """
    B, H = c_prev.shape
    for b in range(B):
        ab, xb = a[b], xp[b]
        for j in range(4 * H):
            sc = scale[j]
            ab[j] = sc * tanh(sc * (ab[j] + xb[j])) + shift[j]
        i, f, g, o = ab[:H], ab[H:2 * H], ab[2 * H:3 * H], ab[3 * H:]
        cp, c, tc, h = c_prev[b], c_out[b], tc_out[b], h_out[b]
        for j in range(H):
            cj = f[j] * cp[j] + i[j] * g[j]                  # c_t = f ∘ c_{t-1} + i ∘ c̃
            c[j] = cj
        for j in range(H):
            tc[j] = tanh(c[j])                               # tanh(c_t)
        for j in range(H):
            h[j] = o[j] * tc[j]                              # h_t = o ∘ tanh(c_t)


@jit
def lstm_backward(dh, dc, G, tc, c_prev, dxp, dc_prev):
    B, H = tc.shape
    one = f32(1.0)
    for b in range(B):
        gb, db = G[b], dxp[b]
        i, f, g, o = gb[:H], gb[H:2 * H], gb[2 * H:3 * H], gb[3 * H:]
        di, df, dg, do = db[:H], db[H:2 * H], db[2 * H:3 * H], db[3 * H:]
        dhb, dcb, tcb, cpb, dct = dh[b], dc[b], tc[b], c_prev[b], dc_prev[b]
        for j in range(H):                                   # δc_t + δh_t ∘ o ∘ (1 - tanh²c_t)
            dct[j] = dhb[j] * o[j] * (one - tcb[j] * tcb[j]) + dcb[j]
        for j in range(H):
            di[j] = dct[j] * g[j] * i[j] * (one - i[j])      # δa_i = δc ∘ c̃ ∘ σ'
        for j in range(H):
            df[j] = dct[j] * cpb[j] * f[j] * (one - f[j])    # δa_f = δc ∘ c_{t-1} ∘ σ'
        for j in range(H):
            dg[j] = dct[j] * i[j] * (one - g[j] * g[j])      # δa_g = δc ∘ i ∘ tanh'
        for j in range(H):
            do[j] = dhb[j] * tcb[j] * o[j] * (one - o[j])    # δa_o = δh ∘ tanh(c) ∘ σ'
        for j in range(H):
            dct[j] *= f[j]                                   # δc_{t-1} = δc_t ∘ f


# -- GRU, reset after the product (PyTorch; gate order r, z, n) --------------------------------
@jit
def gru_forward(hp, a, b_hn, h_prev, h_out):
    """hp = h_{t-1}·weight_hhᵀ on entry (+ b_hn on n on exit); a = XP[t] = x·W_ihᵀ + b_ih (+ b_hh on
    r, z) on entry, the gates [r z n] on exit (read and written in place: an output array that
    aliased an input array would fail LLVM's runtime overlap check and run scalar, 2x slower)."""
    B, H = h_prev.shape
    for b in range(B):
        hb, ab = hp[b], a[b]
        for j in range(2 * H):
            ab[j] = sigmoid(ab[j] + hb[j])                   # r, z
        hn, r, z, n = hb[2 * H:], ab[:H], ab[H:2 * H], ab[2 * H:]
        for j in range(H):
            hn[j] += b_hn[j]                                 # W_hn h + b_hn
        for j in range(H):
            n[j] = tanh(n[j] + r[j] * hn[j])                 # n = tanh(W_in x + b_in + r ∘ (…))
        hpb, h = h_prev[b], h_out[b]
        for j in range(H):
            h[j] = n[j] + z[j] * (hpb[j] - n[j])             # h = (1 - z) ∘ n + z ∘ h_{t-1}


@jit
def gru_backward(dh, G, hp, h_prev, dxp, dhp, dhz):
    B, H = h_prev.shape
    one = f32(1.0)
    for b in range(B):
        gb, xb, hb = G[b], dxp[b], dhp[b]
        r, z, n = gb[:H], gb[H:2 * H], gb[2 * H:]
        dar, daz, dan = xb[:H], xb[H:2 * H], xb[2 * H:]
        d, hpb, hn = dh[b], h_prev[b], hp[b, 2 * H:]
        for j in range(H):
            dan[j] = d[j] * (one - z[j]) * (one - n[j] * n[j])        # δa_n
        for j in range(H):
            daz[j] = d[j] * (hpb[j] - n[j]) * z[j] * (one - z[j])     # δa_z
        for j in range(H):
            dar[j] = dan[j] * hn[j] * r[j] * (one - r[j])             # δa_r
        for j in range(2 * H):
            hb[j] = xb[j]                                             # dHP[r,z] = dXP[r,z]
        hbn = hb[2 * H:]
        for j in range(H):
            hbn[j] = dan[j] * r[j]                                    # dHP[n] = δa_n ∘ r
        dz = dhz[b]
        for j in range(H):
            dz[j] = d[j] * z[j]                                       # δh' ∘ z (direct path)


KERNELS = {"tanh": tanh_, "rnn_forward": rnn_forward, "rnn_backward": rnn_backward,
           "lstm_forward": lstm_forward, "lstm_backward": lstm_backward,
           "gru_forward": gru_forward, "gru_backward": gru_backward}
