async def test_note_round_trip(server):
    ev = await server.create_event()
    p = await server.join(ev["code"])
    c = await server.client(p["token"])
    ack = await c.add_note("hello")
    assert ack["t"] == "ack"
    await c.wait_for_seq(ack["seq"])
    await c.close()
